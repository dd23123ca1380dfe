import {
  NamespaceMode,
  type StopPodSandboxRequest,
  type StopPodSandboxResponseSchema,
} from "../../gen/runtime/v1/api_pb.ts";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { RpcContext } from "../context.ts";
import { hostPidChildren, killSurvivors } from "../host_pid_cleanup.ts";
import { findSandbox, podContainers } from "../lookup.ts";
import { stopInfraAndReleaseNetwork, stopMainProcess } from "../direct_stop.ts";

/**
 * StopPodSandbox stops every process of the sandbox, forcibly, and releases its network (the infra container's
 * netavark teardown frees the IP and the host ports) before it returns. The containers' main processes are killed
 * all at once and watched by cri-podman (direct_stop.ts); the infra container is stopped last, through Podman,
 * which tears the network down in that call.
 * Idempotent: a sandbox that is already stopped or gone counts as stopped (CRI api.proto, StopPodSandbox).
 * Podman: GET /libpod/pods/{id}/json, GET /libpod/containers/{id}/json per running container,
 * POST /libpod/containers/{infra}/stop?timeout=0 (and /containers/{id}/stop for a container not stopped directly;
 * GET /libpod/containers/{infra}/json until released when the infra had already exited), then
 * POST /libpod/pods/{id}/kill and /stop for anything started meanwhile (no-ops otherwise, ~4 ms).
 */
export async function stopPodSandbox(
  ctx: RpcContext,
  req: StopPodSandboxRequest,
): Promise<MessageInitShape<typeof StopPodSandboxResponseSchema>> {
  // The port answers an absent pod with undefined (inspect) or a no-op (kill): idempotent without more.
  const found = await findSandbox(ctx, req.podSandboxId);
  if (found) {
    // Only host-PID pods need the process scan (kubelet gives their containers the host's PID namespace).
    const hostPid = found.stored.config.linux?.securityContext?.namespaceOptions?.pid === NamespaceMode.NODE;
    const containers = await podContainers(ctx, found.pod);
    const orphans = hostPid ? hostPidChildren(containers) : [];
    await Promise.all(containers.map(async (c) => {
      if (c && !await stopMainProcess(ctx, c, 0)) {
        await ctx.podman.containers.stop(c.Id, { timeoutSeconds: 0, signal: ctx.signal });
      }
    }));
    const infra = found.pod.InfraContainerID;
    if (infra && !await stopInfraAndReleaseNetwork(ctx, infra)) {
      ctx.log.warn("pod network still held 10 s after its infra container stopped", { id: found.pod.Id });
    }
    // Anything else of the pod (a container started meanwhile, a pod without infra): Podman's pod stop.
    await ctx.podman.pods.kill(found.pod.Id, { signal: ctx.signal });
    await killSurvivors(ctx, orphans);
    await ctx.cache.refreshSandboxTree(found.pod.Id, ctx.signal);
  }
  return {};
}
