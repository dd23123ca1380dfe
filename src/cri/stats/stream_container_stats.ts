import type { StreamContainerStatsRequest, StreamContainerStatsResponseSchema } from "../../gen/runtime/v1/api_pb.ts";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { inBatches } from "../batches.ts";
import type { RpcContext } from "../context.ts";
import { listContainerStats } from "./list_container_stats.ts";

/** StreamContainerStats answers what ListContainerStats answers, in batches (feature gate CRIListStreaming). */
export async function* streamContainerStats(
  ctx: RpcContext,
  req: StreamContainerStatsRequest,
): AsyncIterable<MessageInitShape<typeof StreamContainerStatsResponseSchema>> {
  const { stats = [] } = await listContainerStats(ctx, {
    $typeName: "runtime.v1.ListContainerStatsRequest",
    ...(req.filter ? { filter: req.filter } : {}),
  });
  for (const batch of inBatches(stats)) yield { containerStats: batch };
}
