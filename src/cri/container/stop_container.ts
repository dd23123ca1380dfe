import {
  ContainerState,
  type StopContainerRequest,
  type StopContainerResponseSchema,
} from "../../gen/runtime/v1/api_pb.ts";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { RpcContext } from "../context.ts";
import { findContainer } from "../lookup.ts";
import { hostPidChildren, killSurvivors } from "../host_pid_cleanup.ts";

/**
 * StopContainer sends the container's stop signal and SIGKILL after `timeout` seconds (0: at once).
 * Idempotent: a container that is already stopped or gone counts as stopped (CRI api.proto, StopContainer).
 * Podman: GET /libpod/containers/{id}/json, POST /libpod/containers/{id}/stop?timeout=N.
 */
export async function stopContainer(
  ctx: RpcContext,
  req: StopContainerRequest,
): Promise<MessageInitShape<typeof StopContainerResponseSchema>> {
  const found = await findContainer(ctx, req.containerId);
  if (!found) return {};
  const timeoutSeconds = Math.max(0, Number(req.timeout));
  const orphans = hostPidChildren([found.container]);
  await ctx.podman.containers.stop(found.container.Id, { timeoutSeconds, signal: ctx.signal });
  await killSurvivors(ctx, orphans);
  // Stopped is what this call produced; Podman's own events refresh the rest (finish time, exit code) shortly.
  ctx.cache.setContainerState(found.container.Id, ContainerState.CONTAINER_EXITED);
  return {};
}
