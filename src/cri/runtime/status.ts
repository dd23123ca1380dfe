import type { StatusRequest, StatusResponseSchema } from "../../gen/runtime/v1/api_pb.ts";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { tunUsable } from "../../host/tun.ts";
import {
  networkCondition,
  runtimeCondition,
  toStatusInfo,
  type UnusableOciRuntime,
} from "../../translate/runtime_status.ts";
import type { LibpodInfo } from "../../podman/types.ts";
import { podmanInfo } from "../podman_info.ts";
import type { RpcContext } from "../context.ts";

/** How long Status waits for Podman: kubelet asks every few seconds and must hear "not ready", not wait. */
export const STATUS_BUDGET_MS = 2_000;

/**
 * Status reports RuntimeReady (Podman answers _ping, and its OCI runtime can run containers on this host) and
 * NetworkReady (network backend, slirp4netns and /dev/net/tun usable), the runtime handlers, and with `verbose`
 * Podman's facts and the effective configuration. A Podman that is unreachable, or hangs, is a NOT-ready condition,
 * not an error, so kubelet sees why; the answer comes within {@link STATUS_BUDGET_MS} either way.
 * Podman: GET /libpod/_ping every call; GET /libpod/info at most every 30 s.
 */
export async function status(
  ctx: RpcContext,
  req: StatusRequest,
): Promise<MessageInitShape<typeof StatusResponseSchema>> {
  const budget = AbortSignal.any([ctx.signal, AbortSignal.timeout(STATUS_BUDGET_MS)]);
  const ping = await ctx.podman.system.ping({ signal: budget }).then(
    () => undefined,
    (err: Error) => (budget.aborted && !ctx.signal.aborted ? "timeout" as const : err),
  );
  // The call's own deadline or its client's cancel is not Podman's doing: answer with it (DEADLINE_EXCEEDED,
  // CANCELLED), not with a "Podman unreachable" condition nobody will read.
  ctx.signal.throwIfAborted();
  const info: LibpodInfo | Error = ping === "timeout"
    ? new Error("Podman did not answer in time")
    : ping ?? await withinBudget(podmanInfo(ctx), budget);
  const unusableRuntime = info instanceof Error ? undefined : await unusableOciRuntime(ctx, info, budget);
  ctx.signal.throwIfAborted();
  return {
    status: {
      conditions: [
        runtimeCondition({ ping, unusableRuntime }),
        networkCondition({ info, tunUsable: await tunUsable() }),
      ],
    },
    runtimeHandlers: ["", ...Object.keys(ctx.config.runtime_handlers)].map((name) => ({
      name,
      features: { recursiveReadOnlyMounts: false, userNamespaces: false },
    })),
    features: { supplementalGroupsPolicy: false, userNamespacesHostNetwork: false },
    info: req.verbose
      ? {
        ...toStatusInfo(info, ctx.config, ctx.state.podCidr),
        ...(ctx.state.ociRuntimeOverride ? { ociRuntimeOverride: JSON.stringify(ctx.state.ociRuntimeOverride) } : {}),
      }
      : {},
  };
}

/** Podman's OCI runtime when a probe container found it unusable here (within the budget), else undefined. */
async function unusableOciRuntime(
  ctx: RpcContext,
  info: LibpodInfo,
  budget: AbortSignal,
): Promise<UnusableOciRuntime | undefined> {
  const runtime = info.host.ociRuntime;
  if (!runtime?.path) return undefined;
  const verdict = await withinBudget(ctx.ociRuntimes.verdict(runtime.path), budget);
  if (verdict instanceof Error || verdict.usable !== false) return undefined;
  const alternative = await withinBudget(ctx.ociRuntimes.firstUsable(runtime.path), budget);
  return {
    name: runtime.name ?? runtime.path,
    reason: verdict.reason,
    alternative: alternative instanceof Error ? undefined : alternative?.name,
    embedded: ctx.podmanEmbedded,
  };
}

/** `promise`'s value, or an Error once `budget` fires first. */
function withinBudget<T>(promise: Promise<T>, budget: AbortSignal): Promise<T | Error> {
  if (budget.aborted) return Promise.resolve(new Error("Status ran out of time"));
  return new Promise((resolve) => {
    const onAbort = () => resolve(new Error("Status ran out of time"));
    budget.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => resolve(value),
      (err: Error) => resolve(err instanceof Error ? err : new Error(String(err))),
    ).finally(() => budget.removeEventListener("abort", onAbort));
  });
}
