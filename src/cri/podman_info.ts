/**
 * Podman's host facts (cgroup manager and controllers, graph root, network backend) for handlers, from the shared
 * 30-second cache in RuntimeState.
 * @module
 */
import type { LibpodInfo } from "../podman/types.ts";
import type { RpcContext } from "./context.ts";

/** Podman's info, at most 30 s old. The shared fetch carries no call's signal: one cancelled caller must not fail the rest. */
export function podmanInfo(ctx: RpcContext): Promise<LibpodInfo> {
  return ctx.state.cachedInfo(() => ctx.podman.system.info(), Date.now());
}
