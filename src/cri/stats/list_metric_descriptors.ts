import type { ListMetricDescriptorsRequest, ListMetricDescriptorsResponseSchema } from "../../gen/runtime/v1/api_pb.ts";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { metricDescriptors } from "../../translate/stats.ts";
import type { RpcContext } from "../context.ts";

/**
 * ListMetricDescriptors names the cAdvisor metrics ListPodSandboxMetrics sends (those cri-podman measures from the
 * containers' processes, and no others), with their help text and label keys. Podman: none.
 */
export function listMetricDescriptors(
  _ctx: RpcContext,
  _req: ListMetricDescriptorsRequest,
): Promise<MessageInitShape<typeof ListMetricDescriptorsResponseSchema>> {
  return Promise.resolve({ descriptors: metricDescriptors() });
}
