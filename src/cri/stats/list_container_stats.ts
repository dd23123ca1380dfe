import type { ListContainerStatsRequest, ListContainerStatsResponseSchema } from "../../gen/runtime/v1/api_pb.ts";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { toCriContainerStats } from "../../translate/stats.ts";
import type { RpcContext } from "../context.ts";
import { selectContainers } from "./select.ts";

/**
 * ListContainerStats measures every created or running container the filter selects (ID, sandbox ID, labels), in
 * one pass over the process table however many there are.
 * Podman: none while the List cache is synced, plus one inspect per container ever (its layer directory).
 */
export async function listContainerStats(
  ctx: RpcContext,
  req: ListContainerStatsRequest,
): Promise<MessageInitShape<typeof ListContainerStatsResponseSchema>> {
  const containers = selectContainers(await ctx.cache.containers(ctx.signal), req.filter);
  const usage = await ctx.stats.containers(containers, ctx.signal);
  return { stats: containers.map((c) => toCriContainerStats(c, usage.get(c.id ?? "")!)) };
}
