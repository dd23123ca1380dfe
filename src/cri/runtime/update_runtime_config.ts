import type { UpdateRuntimeConfigRequest, UpdateRuntimeConfigResponseSchema } from "../../gen/runtime/v1/api_pb.ts";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { CriError } from "../../errors.ts";
import type { RpcContext } from "../context.ts";
import { applyPodCidr } from "../sandbox/pod_network.ts";

const CIDR = /^(\d{1,3}(\.\d{1,3}){3}\/\d{1,2}|[0-9a-fA-F:]+\/\d{1,3})$/;

/**
 * UpdateRuntimeConfig records the pod CIDR kubelet hands the runtime (the only field of RuntimeConfig) and gives the
 * pod network that subnet while no pod uses it. kubelet sends it again after every runtime restart, so memory is
 * the right home for the value itself.
 * Podman: GET /libpod/networks/{name}/json, and when the subnet changes GET /libpod/pods/json,
 * DELETE + POST /libpod/networks.
 */
export async function updateRuntimeConfig(
  ctx: RpcContext,
  req: UpdateRuntimeConfigRequest,
): Promise<MessageInitShape<typeof UpdateRuntimeConfigResponseSchema>> {
  const cidr = req.runtimeConfig?.networkConfig?.podCidr ?? "";
  if (cidr === "") return {};
  for (const part of cidr.split(",")) {
    if (!CIDR.test(part.trim())) {
      throw new CriError("InvalidArgument", `runtime_config.network_config.pod_cidr "${cidr}" is not a CIDR`);
    }
  }
  if (cidr !== ctx.state.podCidr) ctx.log.info("pod CIDR updated", { podCidr: cidr, previous: ctx.state.podCidr });
  ctx.state.podCidr = cidr;
  // The pod network's subnet follows while no pod uses it (pod_network.ts); otherwise a log line says why not.
  await applyPodCidr(ctx);
  return {};
}
