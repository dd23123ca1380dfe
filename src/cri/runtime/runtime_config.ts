import type { RuntimeConfigRequest, RuntimeConfigResponseSchema } from "../../gen/runtime/v1/api_pb.ts";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { toCgroupDriver } from "../../translate/runtime_status.ts";
import { podmanInfo } from "../podman_info.ts";
import type { RpcContext } from "../context.ts";

/**
 * RuntimeConfig tells kubelet the cgroup driver, which must match Podman's cgroup manager (systemd or cgroupfs).
 * Podman: GET /libpod/info (cached 30 s).
 */
export async function runtimeConfig(
  ctx: RpcContext,
  _req: RuntimeConfigRequest,
): Promise<MessageInitShape<typeof RuntimeConfigResponseSchema>> {
  const info = await podmanInfo(ctx);
  return { linux: { cgroupDriver: toCgroupDriver(info.host.cgroupManager) } };
}
