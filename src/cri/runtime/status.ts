import type { StatusRequest, StatusResponseSchema } from "../../gen/runtime/v1/api_pb.ts";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { tunUsable } from "../../host/tun.ts";
import { networkCondition, runtimeCondition, toStatusInfo } from "../../translate/runtime_status.ts";
import { podmanInfo } from "../podman_info.ts";
import type { RpcContext } from "../context.ts";

/**
 * Status reports RuntimeReady (Podman answers _ping) and NetworkReady (network backend, slirp4netns and
 * /dev/net/tun usable), the runtime handlers, and with `verbose` Podman's facts and the effective configuration.
 * An unreachable Podman is a NOT-ready condition, not an error, so kubelet sees why.
 * Podman: GET /libpod/_ping every call; GET /libpod/info at most every 30 s.
 */
export async function status(
  ctx: RpcContext,
  req: StatusRequest,
): Promise<MessageInitShape<typeof StatusResponseSchema>> {
  const pingError = await ctx.podman.system.ping({ signal: ctx.signal }).then(() => undefined, (err: Error) => err);
  const info = pingError ?? await podmanInfo(ctx)
    .catch((err: Error) => err);
  return {
    status: {
      conditions: [runtimeCondition(pingError), networkCondition({ info, tunUsable: await tunUsable() })],
    },
    runtimeHandlers: ["", ...Object.keys(ctx.config.runtime_handlers)].map((name) => ({
      name,
      features: { recursiveReadOnlyMounts: false, userNamespaces: false },
    })),
    features: { supplementalGroupsPolicy: false, userNamespacesHostNetwork: false },
    info: req.verbose ? toStatusInfo(info, ctx.config, ctx.state.podCidr) : {},
  };
}
