import type { ContainerStatsRequest, ContainerStatsResponseSchema } from "../../gen/runtime/v1/api_pb.ts";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { toCriContainerStats } from "../../translate/stats.ts";
import type { RpcContext } from "../context.ts";
import { selectOne } from "./select.ts";

/**
 * ContainerStats measures one container (by ID or unique prefix): CPU, memory and its writable layer; a container
 * that is not running reads as zero usage. NOT_FOUND for an unknown or removed ID.
 * Podman: none while the List cache is synced, plus one inspect per container ever (its layer directory).
 */
export async function containerStats(
  ctx: RpcContext,
  req: ContainerStatsRequest,
): Promise<MessageInitShape<typeof ContainerStatsResponseSchema>> {
  const container = selectOne(await ctx.cache.containers(ctx.signal), req.containerId, "container_id", "Container");
  const usage = await ctx.stats.containers([container], ctx.signal);
  return { stats: toCriContainerStats(container, usage.get(container.id ?? "")!) };
}
