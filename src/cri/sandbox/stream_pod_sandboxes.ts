import type { StreamPodSandboxesRequest, StreamPodSandboxesResponseSchema } from "../../gen/runtime/v1/api_pb.ts";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { inBatches } from "../batches.ts";
import type { RpcContext } from "../context.ts";
import { listPodSandbox } from "./list_pod_sandbox.ts";

/**
 * StreamPodSandboxes answers what ListPodSandbox answers, in batches; each sandbox appears once and the stream ends
 * after the last (CRI api.proto, StreamPodSandboxes; feature gate CRIListStreaming).
 */
export async function* streamPodSandboxes(
  ctx: RpcContext,
  req: StreamPodSandboxesRequest,
): AsyncIterable<MessageInitShape<typeof StreamPodSandboxesResponseSchema>> {
  const { items = [] } = await listPodSandbox(ctx, {
    $typeName: "runtime.v1.ListPodSandboxRequest",
    ...(req.filter ? { filter: req.filter } : {}),
  });
  for (const batch of inBatches(items)) yield { podSandboxes: batch };
}
