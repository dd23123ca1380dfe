import type { ContainerStatusRequest, ContainerStatusResponseSchema } from "../../gen/runtime/v1/api_pb.ts";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { toCriContainerStatus } from "../../translate/container.ts";
import type { RpcContext } from "../context.ts";
import { getContainer } from "../lookup.ts";
import { STATS_SOURCE } from "../stats/collector.ts";

/**
 * ContainerStatus returns a container's state, times (ns), exit code, reason (Completed, Error, OOMKilled),
 * image, labels, annotations, mounts, log path, resources, user and stop signal; NOT_FOUND for an unknown ID.
 * With `verbose`, `info` holds Podman facts as JSON (PID, pod, OCI runtime, resources applied or not) and where
 * its stats come from (`statsSource`).
 * Podman: GET /libpod/containers/{id}/json.
 */
export async function containerStatus(
  ctx: RpcContext,
  req: ContainerStatusRequest,
): Promise<MessageInitShape<typeof ContainerStatusResponseSchema>> {
  const { container, stored } = await getContainer(ctx, req.containerId);
  const info: Record<string, string> = {};
  if (req.verbose) {
    info["info"] = JSON.stringify({
      pid: container.State.Pid,
      sandboxId: stored.sandboxId,
      podmanName: container.Name,
      podmanStatus: container.State.Status,
      hostConfig: container.HostConfig ?? {},
      // Where ContainerStats' numbers come from: the container's processes in /proc (no cgroup stats here).
      statsSource: STATS_SOURCE,
    });
  }
  return { status: toCriContainerStatus(container, stored), info };
}
