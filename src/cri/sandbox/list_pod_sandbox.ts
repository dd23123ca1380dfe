import type { ListPodSandboxRequest, ListPodSandboxResponseSchema } from "../../gen/runtime/v1/api_pb.ts";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { matchesSandboxFilter } from "../../translate/sandbox.ts";
import { encodeOnce } from "../encode_once.ts";
import type { RpcContext } from "../context.ts";

/**
 * ListPodSandbox lists the sandboxes cri-podman created (never other pods), filtered by ID prefix, state and
 * label selector. Answered from the event-fed cache (no Podman call) while the event stream is up.
 * Podman: none when cached; else GET /libpod/pods/json?filters={"label":[managed, kind=sandbox]}.
 */
export async function listPodSandbox(
  ctx: RpcContext,
  req: ListPodSandboxRequest,
): Promise<MessageInitShape<typeof ListPodSandboxResponseSchema>> {
  // kubelet's relist asks for everything, every second: one response object (encoded once) per state of the cache.
  if (!req.filter || (!req.filter.id && !req.filter.state && Object.keys(req.filter.labelSelector).length === 0)) {
    const memo = ctx.cache.memoizeList(
      "sandboxes",
      "ListPodSandbox",
      () => encodeOnce({ items: ctx.cache.listedSandboxes() }),
    );
    if (memo) return memo;
  }
  const all = await ctx.cache.sandboxes(ctx.signal);
  return { items: all.filter((s) => matchesSandboxFilter(s, req.filter)) };
}
