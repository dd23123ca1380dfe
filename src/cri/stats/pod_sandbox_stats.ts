import type { PodSandboxStatsRequest, PodSandboxStatsResponseSchema } from "../../gen/runtime/v1/api_pb.ts";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { RpcContext } from "../context.ts";
import { podSandboxStats as measure } from "./pod_stats.ts";
import { selectOne } from "./select.ts";

/**
 * PodSandboxStats measures one sandbox (by ID or unique prefix): the sum of its containers and infra container, its
 * network counters, its process count, and each container's stats. A sandbox that is not ready reads as zero.
 * NOT_FOUND for an unknown or removed ID.
 * Podman: none while the List cache is synced, but once per pod (its infra container) and per container (its layer).
 */
export async function podSandboxStats(
  ctx: RpcContext,
  req: PodSandboxStatsRequest,
): Promise<MessageInitShape<typeof PodSandboxStatsResponseSchema>> {
  const sandbox = selectOne(await ctx.cache.sandboxes(ctx.signal), req.podSandboxId, "pod_sandbox_id", "Pod sandbox");
  const [stats] = await measure(ctx, [sandbox]);
  return { stats: stats! };
}
