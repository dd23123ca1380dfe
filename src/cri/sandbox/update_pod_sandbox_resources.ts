import type {
  UpdatePodSandboxResourcesRequest,
  UpdatePodSandboxResourcesResponseSchema,
} from "../../gen/runtime/v1/api_pb.ts";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { RpcContext } from "../context.ts";
import { getSandbox } from "../lookup.ts";

/**
 * UpdatePodSandboxResources takes the pod-level resources after an in-place resize. Best effort, as the proto
 * allows: rootless Podman 4.3 on cgroup v1 has no pod cgroup to apply them to and no way to update a pod's labels,
 * so they are recorded in memory and shown in PodSandboxStatus's verbose info; kubelet sends them again as needed.
 * NOT_FOUND for an unknown sandbox.
 * Podman: GET /libpod/pods/{id}/json.
 */
export async function updatePodSandboxResources(
  ctx: RpcContext,
  req: UpdatePodSandboxResourcesRequest,
): Promise<MessageInitShape<typeof UpdatePodSandboxResourcesResponseSchema>> {
  const { pod } = await getSandbox(ctx, req.podSandboxId);
  ctx.state.sandboxResources.set(pod.Id, { overhead: req.overhead ?? null, resources: req.resources ?? null });
  ctx.log.info("recorded pod sandbox resources", { id: pod.Id });
  return {};
}
