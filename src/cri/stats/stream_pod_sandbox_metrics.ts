import type {
  StreamPodSandboxMetricsRequest,
  StreamPodSandboxMetricsResponseSchema,
} from "../../gen/runtime/v1/api_pb.ts";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { inBatches } from "../batches.ts";
import type { RpcContext } from "../context.ts";
import { listPodSandboxMetrics } from "./list_pod_sandbox_metrics.ts";

/** StreamPodSandboxMetrics answers what ListPodSandboxMetrics answers, in batches. */
export async function* streamPodSandboxMetrics(
  ctx: RpcContext,
  _req: StreamPodSandboxMetricsRequest,
): AsyncIterable<MessageInitShape<typeof StreamPodSandboxMetricsResponseSchema>> {
  const { podMetrics = [] } = await listPodSandboxMetrics(ctx, {
    $typeName: "runtime.v1.ListPodSandboxMetricsRequest",
  });
  for (const batch of inBatches(podMetrics)) yield { podSandboxMetrics: batch };
}
