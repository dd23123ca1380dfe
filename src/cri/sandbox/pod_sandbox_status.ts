import type { PodSandboxStatusRequest, PodSandboxStatusResponseSchema } from "../../gen/runtime/v1/api_pb.ts";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { CriError } from "../../errors.ts";
import type { RpcContext } from "../context.ts";

/**
 * PodSandboxStatus returns the sandbox's state (READY while its infra container runs), creation time, IP,
 * namespace options, labels, annotations and runtime handler; NOT_FOUND for an unknown ID. With `verbose`, `info`
 * holds Podman facts as JSON (pod and infra IDs, infra PID, hostname, shared namespaces, recorded resources).
 * Podman: none while the cache is synced and keeps the status (kept, with the facts `verbose` adds, from the reads
 * of the sandbox's last event or change); else GET /libpod/pods/{id}/json, GET /libpod/containers/{infra}/json.
 */
export async function podSandboxStatus(
  ctx: RpcContext,
  req: PodSandboxStatusRequest,
): Promise<MessageInitShape<typeof PodSandboxStatusResponseSchema>> {
  if (!req.podSandboxId) throw new CriError("InvalidArgument", "pod_sandbox_id must not be empty");
  // From memory, verbose or not: the facts verbose adds come from the same inspects as the status.
  const read = await ctx.cache.sandboxRead(req.podSandboxId, ctx.signal);
  if (!read) throw new CriError("NotFound", `Pod sandbox "${req.podSandboxId}" not found`);
  const { status, facts } = read;
  const info: Record<string, string> = {};
  if (req.verbose) {
    const stored = facts.stored;
    info["info"] = JSON.stringify({
      podId: facts.podId,
      podName: facts.podName,
      infraContainerId: facts.infraContainerId,
      pid: facts.pid,
      podState: facts.podState,
      hostname: facts.hostname,
      sharedNamespaces: facts.sharedNamespaces,
      network: ctx.config.pods.network,
      logDirectory: stored.config.logDirectory,
      // Recorded, not applied: rootless Podman on cgroup v1 has no cgroups to put them in (README, host notes).
      cgroupParent: stored.config.linux?.cgroupParent ?? "",
      overhead: stored.config.linux?.overhead ?? null,
      podResources: stored.config.linux?.resources ?? null,
      resources: ctx.state.sandboxResources.get(facts.podId) ?? null,
    }, (_k, v) => typeof v === "bigint" ? v.toString() : v);
  }
  return { status, info, timestamp: BigInt(Date.now()) * 1_000_000n };
}
