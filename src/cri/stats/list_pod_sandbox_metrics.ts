import type { ListPodSandboxMetricsRequest, ListPodSandboxMetricsResponseSchema } from "../../gen/runtime/v1/api_pb.ts";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { RpcContext } from "../context.ts";
import { podSandboxMetrics } from "./pod_stats.ts";
import { selectSandboxes } from "./select.ts";

/**
 * ListPodSandboxMetrics sends, for every ready sandbox, the metrics ListMetricDescriptors names: per container and
 * for the infra container (ID, name "POD"), and the pod's network counters under the infra container.
 * Podman: none while the List cache is synced, but one pods/json per new pod and one inspect per new container.
 */
export async function listPodSandboxMetrics(
  ctx: RpcContext,
  _req: ListPodSandboxMetricsRequest,
): Promise<MessageInitShape<typeof ListPodSandboxMetricsResponseSchema>> {
  const sandboxes = selectSandboxes(await ctx.cache.sandboxes(ctx.signal), undefined);
  return { podMetrics: await podSandboxMetrics(ctx, sandboxes) };
}
