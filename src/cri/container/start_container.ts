import type { StartContainerRequest, StartContainerResponseSchema } from "../../gen/runtime/v1/api_pb.ts";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { RpcContext } from "../context.ts";
import { getContainerId } from "../lookup.ts";

/**
 * StartContainer starts a created container; NOT_FOUND for an unknown ID.
 * Podman: POST /libpod/containers/{id}/start, then GET /libpod/containers/{id}/json (the cache's refresh); the ID is
 * resolved from the cache's list (GET /libpod/containers/{id}/json only while it is unsynced).
 */
export async function startContainer(
  ctx: RpcContext,
  req: StartContainerRequest,
): Promise<MessageInitShape<typeof StartContainerResponseSchema>> {
  // From the cache's list (no inspect) while it is synced: CreateContainer put the container there.
  const id = await getContainerId(ctx, req.containerId);
  try {
    await ctx.podman.containers.start(id, { signal: ctx.signal });
  } finally {
    await ctx.cache.refreshContainer(id, ctx.signal);
  }
  return {};
}
