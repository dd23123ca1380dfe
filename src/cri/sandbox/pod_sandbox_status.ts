import type { PodSandboxStatusRequest, PodSandboxStatusResponseSchema } from "../../gen/runtime/v1/api_pb.ts";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { toCriSandboxStatus } from "../../translate/sandbox.ts";
import type { RpcContext } from "../context.ts";
import { getSandbox } from "../lookup.ts";

/**
 * PodSandboxStatus returns the sandbox's state (READY while its infra container runs), creation time, IP,
 * namespace options, labels, annotations and runtime handler; NOT_FOUND for an unknown ID. With `verbose`, `info`
 * holds Podman facts as JSON (pod and infra IDs, infra PID, hostname, shared namespaces, recorded resources).
 * Podman: GET /libpod/pods/{id}/json, GET /libpod/containers/{infra}/json.
 */
export async function podSandboxStatus(
  ctx: RpcContext,
  req: PodSandboxStatusRequest,
): Promise<MessageInitShape<typeof PodSandboxStatusResponseSchema>> {
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
