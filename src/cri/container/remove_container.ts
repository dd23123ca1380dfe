import type { RemoveContainerRequest, RemoveContainerResponseSchema } from "../../gen/runtime/v1/api_pb.ts";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { RpcContext } from "../context.ts";
import { findContainer } from "../lookup.ts";
import { hostPidChildren, killSurvivors } from "../host_pid_cleanup.ts";

/**
 * RemoveContainer removes a container, killing it first if it still runs.
 * Idempotent: a container that is gone counts as removed (CRI api.proto, RemoveContainer).
 * Podman: GET /libpod/containers/{id}/json, DELETE /libpod/containers/{id}?force=true&timeout=0.
 */
export async function removeContainer(
  ctx: RpcContext,
  req: RemoveContainerRequest,
): Promise<MessageInitShape<typeof RemoveContainerResponseSchema>> {
  const found = await findContainer(ctx, req.containerId);
  if (!found) return {};
  const orphans = hostPidChildren([found.container]);
  await ctx.podman.containers.remove(found.container.Id, { signal: ctx.signal });
  await killSurvivors(ctx, orphans);
  ctx.cache.forget(found.container.Id);
  return {};
}
