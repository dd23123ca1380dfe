import type { ListPodSandboxStatsRequest, ListPodSandboxStatsResponseSchema } from "../../gen/runtime/v1/api_pb.ts";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { RpcContext } from "../context.ts";
import { podSandboxStats } from "./pod_stats.ts";
import { selectSandboxes } from "./select.ts";

/**
 * ListPodSandboxStats measures every ready sandbox the filter selects (ID, labels), in one pass over the process
 * table. Podman: none while the List cache is synced, but one pods/json per new pods and one inspect per new
 * container.
 */
export async function listPodSandboxStats(
  ctx: RpcContext,
  req: ListPodSandboxStatsRequest,
): Promise<MessageInitShape<typeof ListPodSandboxStatsResponseSchema>> {
  const sandboxes = selectSandboxes(await ctx.cache.sandboxes(ctx.signal), req.filter);
  return { stats: await podSandboxStats(ctx, sandboxes) };
}
