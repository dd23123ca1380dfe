import type { PodSandboxStatusRequest, PodSandboxStatusResponseSchema } from "../../gen/runtime/v1/api_pb.ts";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { toCriSandboxStatus } from "../../translate/sandbox.ts";
import { CriError } from "../../errors.ts";
import type { RpcContext } from "../context.ts";
import { getSandbox } from "../lookup.ts";

/**
 * PodSandboxStatus returns the sandbox's state (READY while its infra container runs), creation time, IP,
 * namespace options, labels, annotations and runtime handler; NOT_FOUND for an unknown ID. With `verbose`, `info`
 * holds Podman facts as JSON (pod and infra IDs, infra PID, hostname, shared namespaces, recorded resources).
 * Podman: none while the cache is synced and keeps the status (kept from the reads of the sandbox's last event or
 * change); else, and always with `verbose`, GET /libpod/pods/{id}/json, GET /libpod/containers/{infra}/json.
 */
export async function podSandboxStatus(
  ctx: RpcContext,
  req: PodSandboxStatusRequest,
): Promise<MessageInitShape<typeof PodSandboxStatusResponseSchema>> {
  if (!req.verbose) {
    if (!req.podSandboxId) throw new CriError("InvalidArgument", "pod_sandbox_id must not be empty");
    const status = await ctx.cache.sandboxStatus(req.podSandboxId, ctx.signal);
    if (!status) throw new CriError("NotFound", `Pod sandbox "${req.podSandboxId}" not found`);
    return { status, info: {}, timestamp: BigInt(Date.now()) * 1_000_000n };
  }
  const { pod, stored } = await getSandbox(ctx, req.podSandboxId);
  const infra = pod.InfraContainerID
    ? await ctx.podman.containers.inspect(pod.InfraContainerID, { signal: ctx.signal })
    : undefined;
  const status = toCriSandboxStatus(pod, infra, stored, ctx.config.pods.network);
  const info: Record<string, string> = {};
  if (req.verbose) {
    info["info"] = JSON.stringify({
      podId: pod.Id,
      podName: pod.Name,
      infraContainerId: pod.InfraContainerID,
      pid: infra?.State.Pid ?? 0,
      podState: pod.State,
      hostname: pod.Hostname,
      sharedNamespaces: pod.SharedNamespaces ?? [],
      network: ctx.config.pods.network,
      logDirectory: stored.config.logDirectory,
      // Recorded, not applied: rootless Podman on cgroup v1 has no cgroups to put them in (README, host notes).
      cgroupParent: stored.config.linux?.cgroupParent ?? "",
      overhead: stored.config.linux?.overhead ?? null,
      podResources: stored.config.linux?.resources ?? null,
      resources: ctx.state.sandboxResources.get(pod.Id) ?? null,
    }, (_k, v) => typeof v === "bigint" ? v.toString() : v);
  }
  return { status, info, timestamp: BigInt(Date.now()) * 1_000_000n };
}
