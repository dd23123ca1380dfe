import { isIP } from "node:net";
import type { UpdateRuntimeConfigRequest, UpdateRuntimeConfigResponseSchema } from "../../gen/runtime/v1/api_pb.ts";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { CriError } from "../../errors.ts";
import { ipv4CidrProblem } from "../../config/rules.ts";
import type { RpcContext } from "../context.ts";
import { applyPodCidr } from "../pod_network.ts";

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
    const problem = cidrProblem(part.trim());
    if (problem) {
      throw new CriError(
        "InvalidArgument",
        `runtime_config.network_config.pod_cidr "${cidr}" is not a CIDR: ${problem}`,
      );
    }
  }
  if (cidr !== ctx.state.podCidr) ctx.log.info("pod CIDR updated", { podCidr: cidr, previous: ctx.state.podCidr });
  ctx.state.podCidr = cidr;
  // The pod network's subnet follows while no pod uses it (pod_network.ts); otherwise a log line says why not.
  await applyPodCidr(ctx);
  return {};
}

/**
 * What is wrong with one part of kubelet's pod CIDR, or undefined. Checked in full, not by shape: the IPv4 part
 * becomes the pod network's subnet, and a bad one ("300.1.2.3/16", "/33") would only fail in Podman after the old
 * network was removed, leaving none. So it follows pods.default_subnet's rules; an IPv6 part is only recorded.
 */
function cidrProblem(part: string): string | undefined {
  if (!part.includes(":")) return ipv4CidrProblem(part);
  const m = /^([^/]+)\/(\d{1,3})$/.exec(part);
  return m && isIP(m[1]!) === 6 && Number(m[2]) <= 128 ? undefined : `"${part}" is not an IPv6 CIDR`;
}
