import type { StreamContainersRequest, StreamContainersResponseSchema } from "../../gen/runtime/v1/api_pb.ts";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { inBatches } from "../batches.ts";
import type { RpcContext } from "../context.ts";
import { listContainers } from "./list_containers.ts";

/**
 * StreamContainers answers what ListContainers answers, in batches; each container appears once and the stream
 * ends after the last (CRI api.proto, StreamContainers; feature gate CRIListStreaming).
 */
export async function* streamContainers(
  ctx: RpcContext,
  req: StreamContainersRequest,
): AsyncIterable<MessageInitShape<typeof StreamContainersResponseSchema>> {
  const { containers = [] } = await listContainers(ctx, {
    $typeName: "runtime.v1.ListContainersRequest",
    ...(req.filter ? { filter: req.filter } : {}),
  });
  for (const batch of inBatches(containers)) yield { containers: batch };
}
