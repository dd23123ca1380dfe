import type { StartContainerRequest, StartContainerResponseSchema } from "../../gen/runtime/v1/api_pb.ts";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { RpcContext } from "../context.ts";
import { getContainer } from "../lookup.ts";

/**
 * StartContainer starts a created container; NOT_FOUND for an unknown ID.
 * Podman: GET /libpod/containers/{id}/json, POST /libpod/containers/{id}/start.
 */
export async function startContainer(
  ctx: RpcContext,
  req: StartContainerRequest,
): Promise<MessageInitShape<typeof StartContainerResponseSchema>> {
  const { container } = await getContainer(ctx, req.containerId);
  try {
    await ctx.podman.containers.start(container.Id, { signal: ctx.signal });
  } finally {
    await ctx.cache.refreshContainer(container.Id, ctx.signal);
  }
  return {};
}
