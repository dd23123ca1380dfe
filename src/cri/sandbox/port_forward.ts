import type { PortForwardRequest, PortForwardResponseSchema } from "../../gen/runtime/v1/api_pb.ts";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { CriError } from "../../errors.ts";
import type { RpcContext } from "../context.ts";
import { getSandbox } from "../lookup.ts";
import { isHostNetwork } from "../../translate/sandbox.ts";

/**
 * PortForward returns the URL of cri-podman's streaming server where the client forwards connections to ports of the
 * sandbox's network namespace — `localhost:PORT` as the pod sees it, published or not. The URL's token is single-use
 * and expires. NOT_FOUND for an unknown sandbox, FAILED_PRECONDITION for one that is not ready, INVALID_ARGUMENT
 * naming `port` for a port outside 1–65535.
 * Podman: GET /libpod/pods/{id}/json, GET /libpod/containers/{infra}/json.
 */
export async function portForward(
  ctx: RpcContext,
  req: PortForwardRequest,
): Promise<MessageInitShape<typeof PortForwardResponseSchema>> {
  req.port.forEach((port, i) => {
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      throw new CriError("InvalidArgument", `port[${i}] ${port} is not a port number (1–65535)`);
    }
  });
  const { pod, stored } = await getSandbox(ctx, req.podSandboxId);
  const infra = pod.InfraContainerID
    ? await ctx.podman.containers.inspect(pod.InfraContainerID, { signal: ctx.signal })
    : undefined;
  if (!infra?.State.Running || infra.State.Pid <= 0) {
    throw new CriError("FailedPrecondition", `Pod sandbox "${pod.Id}" is not ready: its infra container does not run`);
  }
  const url = ctx.streaming.url({
    kind: "portforward",
    sandboxId: pod.Id,
    // A node's host-network pod: its containers are in the node's network namespace, its infra container is not.
    infraPid: ctx.state.nodeNetnsPid && stored && isHostNetwork(stored.config)
      ? ctx.state.nodeNetnsPid
      : infra.State.Pid,
    ports: [...req.port],
  });
  return { url };
}
