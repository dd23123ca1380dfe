import type { ListContainersRequest, ListContainersResponseSchema } from "../../gen/runtime/v1/api_pb.ts";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { matchesContainerFilter } from "../../translate/container.ts";
import type { RpcContext } from "../context.ts";

/**
 * ListContainers lists the containers cri-podman created, filtered by ID prefix, sandbox ID (prefix), state and
 * label selector. Answered from the event-fed cache (no Podman call) while the event stream is up.
 * Podman: none when cached; else GET /libpod/containers/json?all=true&filters={"label":[…]}.
 */
export async function listContainers(
  ctx: RpcContext,
  req: ListContainersRequest,
): Promise<MessageInitShape<typeof ListContainersResponseSchema>> {
  const all = await ctx.cache.containers(ctx.signal);
  return { containers: all.filter((c) => matchesContainerFilter(c, req.filter)) };
}
