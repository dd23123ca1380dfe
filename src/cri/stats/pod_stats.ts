/**
 * Pod sandbox stats and metrics from measured usage: what PodSandboxStats, ListPodSandboxStats and
 * ListPodSandboxMetrics share.
 * @module
 */
import { ContainerState } from "../../gen/runtime/v1/api_pb.ts";
import type { CriContainer } from "../../translate/container.ts";
import type { CriPodSandbox } from "../../translate/sandbox.ts";
import {
  type CriPodSandboxMetrics,
  type CriPodSandboxStats,
  toCriContainerStats,
  toCriPodSandboxMetrics,
  toCriPodSandboxStats,
} from "../../translate/stats.ts";
import type { RpcContext } from "../context.ts";

/** Measures `sandboxes` (with their created and running containers) in one pass. */
async function measurePods(ctx: RpcContext, sandboxes: readonly CriPodSandbox[]) {
  const containers = (await ctx.cache.containers(ctx.signal)).filter((c) =>
    c.state === ContainerState.CONTAINER_RUNNING || c.state === ContainerState.CONTAINER_CREATED
  );
  return { containers, usage: await ctx.stats.pods(sandboxes, containers, ctx.signal) };
}

/** The stats of each sandbox, in the order given. */
export async function podSandboxStats(
  ctx: RpcContext,
  sandboxes: readonly CriPodSandbox[],
): Promise<CriPodSandboxStats[]> {
  const { containers, usage } = await measurePods(ctx, sandboxes);
  const byId = new Map(containers.map((c) => [c.id ?? "", c]));
  return sandboxes.map((s) => {
    const pod = usage.get(s.id ?? "")!;
    const own = [...pod.containers].map(([id, u]) => toCriContainerStats(byId.get(id)!, u));
    return toCriPodSandboxStats(s, pod.total, pod.network, own);
  });
}

/** The cAdvisor-named metrics of each sandbox and its containers. */
export async function podSandboxMetrics(
  ctx: RpcContext,
  sandboxes: readonly CriPodSandbox[],
): Promise<CriPodSandboxMetrics[]> {
  const { containers, usage } = await measurePods(ctx, sandboxes);
  const byId = new Map<string, CriContainer>(containers.map((c) => [c.id ?? "", c]));
  return sandboxes.map((s) => {
    const pod = usage.get(s.id ?? "")!;
    const own = [...pod.containers].map(([id, u]) => {
      const c = byId.get(id)!;
      return { id, name: c.metadata?.name ?? "", image: c.image?.image ?? "", usage: u };
    });
    return toCriPodSandboxMetrics(
      s.id ?? "",
      { id: pod.infraId, name: "POD", image: "", usage: pod.infra },
      own,
      pod.network,
    );
  });
}
