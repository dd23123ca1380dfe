import type { StreamPodSandboxStatsRequest, StreamPodSandboxStatsResponseSchema } from "../../gen/runtime/v1/api_pb.ts";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { inBatches } from "../batches.ts";
import type { RpcContext } from "../context.ts";
import { listPodSandboxStats } from "./list_pod_sandbox_stats.ts";

/** StreamPodSandboxStats answers what ListPodSandboxStats answers, in batches (feature gate CRIListStreaming). */
export async function* streamPodSandboxStats(
  ctx: RpcContext,
  req: StreamPodSandboxStatsRequest,
): AsyncIterable<MessageInitShape<typeof StreamPodSandboxStatsResponseSchema>> {
  const { stats = [] } = await listPodSandboxStats(ctx, {
    $typeName: "runtime.v1.ListPodSandboxStatsRequest",
    ...(req.filter ? { filter: req.filter } : {}),
  });
  for (const batch of inBatches(stats)) yield { podSandboxStats: batch };
}
