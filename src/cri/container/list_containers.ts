import type { ListContainersRequest, ListContainersResponseSchema } from "../../gen/runtime/v1/api_pb.ts";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { matchesContainerFilter } from "../../translate/container.ts";
import { encodeOnce } from "../encode_once.ts";
import type { RpcContext } from "../context.ts";

/** True for a filter that lets every container through (absent, or every field empty). */
export function isEmptyContainerFilter(filter: ListContainersRequest["filter"]): boolean {
  return !filter ||
    (!filter.id && !filter.state && !filter.podSandboxId && Object.keys(filter.labelSelector).length === 0);
}

/**
 * ListContainers lists the containers cri-podman created, filtered by ID prefix, sandbox ID (prefix), state and
 * label selector. Answered from the event-fed cache (no Podman call) while the event stream is up.
 * Podman: none when cached; else GET /libpod/containers/json?all=true&filters={"label":[…]}.
 */
export async function listContainers(
  ctx: RpcContext,
  req: ListContainersRequest,
): Promise<MessageInitShape<typeof ListContainersResponseSchema>> {
  // kubelet's relist asks for everything, every second: one response object (encoded once) per state of the cache.
  if (isEmptyContainerFilter(req.filter)) {
    const memo = ctx.cache.memoizeList(
      "containers",
      "ListContainers",
      () => encodeOnce({ containers: ctx.cache.listedContainers() }),
    );
    if (memo) return memo;
  }
  const all = await ctx.cache.containers(ctx.signal);
  return { containers: all.filter((c) => matchesContainerFilter(c, req.filter)) };
}
