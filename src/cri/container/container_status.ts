import type { ContainerStatusRequest, ContainerStatusResponseSchema } from "../../gen/runtime/v1/api_pb.ts";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { toCriContainerStatus } from "../../translate/container.ts";
import { CriError } from "../../errors.ts";
import type { RpcContext } from "../context.ts";
import { getContainer } from "../lookup.ts";
import { STATS_SOURCE } from "../stats/collector.ts";

/**
 * ContainerStatus returns a container's state, times (ns), exit code, reason (Completed, Error, OOMKilled),
 * image, labels, annotations, mounts, log path, resources, user and stop signal; NOT_FOUND for an unknown ID.
 * With `verbose`, `info` holds Podman facts as JSON (PID, pod, OCI runtime, resources applied or not) and where
 * its stats come from (`statsSource`).
 * Podman: none while the cache is synced and keeps the status (it is kept from the inspect of the container's last
 * event or change); else, and always with `verbose`, GET /libpod/containers/{id}/json.
 */
export async function containerStatus(
  ctx: RpcContext,
  req: ContainerStatusRequest,
): Promise<MessageInitShape<typeof ContainerStatusResponseSchema>> {
  if (!req.verbose) {
    if (!req.containerId) throw new CriError("InvalidArgument", "container_id must not be empty");
    const status = await ctx.cache.containerStatus(req.containerId, ctx.signal);
    if (!status) throw new CriError("NotFound", `Container "${req.containerId}" not found`);
    return { status, info: {} };
  }
  const { container, stored } = await getContainer(ctx, req.containerId);
  const info: Record<string, string> = {
    info: JSON.stringify({
      pid: container.State.Pid,
      sandboxId: stored.sandboxId,
      podmanName: container.Name,
      podmanStatus: container.State.Status,
      hostConfig: container.HostConfig ?? {},
      // Where ContainerStats' numbers come from: the container's processes in /proc (no cgroup stats here).
      statsSource: STATS_SOURCE,
    }),
  };
  return { status: toCriContainerStatus(container, stored), info };
}
