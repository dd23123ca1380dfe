import type { UpdateRuntimeConfigRequest, UpdateRuntimeConfigResponseSchema } from "../../gen/runtime/v1/api_pb.ts";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { CriError } from "../../errors.ts";
import type { RpcContext } from "../context.ts";

const CIDR = /^(\d{1,3}(\.\d{1,3}){3}\/\d{1,2}|[0-9a-fA-F:]+\/\d{1,3})$/;

/**
 * UpdateRuntimeConfig records the pod CIDR kubelet hands the runtime (the only field of RuntimeConfig). kubelet
 * sends it again after every runtime restart, so memory is the right home for it.
 */
export function updateRuntimeConfig(
  ctx: RpcContext,
  req: UpdateRuntimeConfigRequest,
): Promise<MessageInitShape<typeof UpdateRuntimeConfigResponseSchema>> {
  const cidr = req.runtimeConfig?.networkConfig?.podCidr ?? "";
  if (cidr === "") return Promise.resolve({});
  for (const part of cidr.split(",")) {
    if (!CIDR.test(part.trim())) {
      throw new CriError("InvalidArgument", `runtime_config.network_config.pod_cidr "${cidr}" is not a CIDR`);
    }
  }
  if (cidr !== ctx.state.podCidr) ctx.log.info("pod CIDR updated", { podCidr: cidr, previous: ctx.state.podCidr });
  ctx.state.podCidr = cidr;
  return Promise.resolve({});
}
