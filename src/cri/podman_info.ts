/**
 * Podman's host facts (cgroup manager and controllers, graph root, network backend) for handlers, from the shared
 * 30-second cache in RuntimeState.
 * @module
 */
import type { LibpodInfo } from "../podman/types.ts";
import type { RpcContext } from "./context.ts";

/**
 * Podman's info, at most 30 s old. The shared fetch carries no call's signal: one cancelled caller must not fail the
 * rest. Each caller still stops waiting when its own signal aborts (rejecting with the signal's reason), so a slow
 * info read never holds a call past its deadline or its client's cancel.
 */
export function podmanInfo(ctx: RpcContext): Promise<LibpodInfo> {
  if (ctx.signal.aborted) return Promise.reject(ctx.signal.reason);
  const shared = ctx.state.cachedInfo(() => ctx.podman.system.info(), Date.now());
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(ctx.signal.reason);
    ctx.signal.addEventListener("abort", onAbort, { once: true });
    shared.then(resolve, reject).finally(() => ctx.signal.removeEventListener("abort", onAbort));
  });
}
