import type { ContainerStatusRequest, ContainerStatusResponseSchema } from "../../gen/runtime/v1/api_pb.ts";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { CriError } from "../../errors.ts";
import type { RpcContext } from "../context.ts";
import { STATS_SOURCE } from "../stats/collector.ts";

/**
 * ContainerStatus returns a container's state, times (ns), exit code, reason (Completed, Error, OOMKilled),
 * image, labels, annotations, mounts, log path, resources, user and stop signal; NOT_FOUND for an unknown ID.
 * With `verbose`, `info` holds Podman facts as JSON (PID, pod, OCI runtime, resources applied or not) and where
 * its stats come from (`statsSource`).
 * Podman: none while the cache is synced and keeps the status (it is kept, with the facts `verbose` adds, from the
 * inspect of the container's last event or change); else GET /libpod/containers/{id}/json.
 */
export async function containerStatus(
  ctx: RpcContext,
  req: ContainerStatusRequest,
): Promise<MessageInitShape<typeof ContainerStatusResponseSchema>> {
  if (!req.containerId) throw new CriError("InvalidArgument", "container_id must not be empty");
  // From memory, verbose or not: the facts verbose adds come from the same inspect as the status.
  const read = await ctx.cache.containerRead(req.containerId, ctx.signal);
  if (!read) throw new CriError("NotFound", `Container "${req.containerId}" not found`);
  if (!req.verbose) return { status: read.status, info: {} };
  const info: Record<string, string> = {
    info: JSON.stringify({
      ...read.facts,
      // Where ContainerStats' numbers come from: the container's processes in /proc (no cgroup stats here).
      statsSource: STATS_SOURCE,
    }),
  };
  return { status: read.status, info };
}
