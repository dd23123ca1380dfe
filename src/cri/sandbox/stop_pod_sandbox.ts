import {
  NamespaceMode,
  type StopPodSandboxRequest,
  type StopPodSandboxResponseSchema,
} from "../../gen/runtime/v1/api_pb.ts";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { RpcContext } from "../context.ts";
import { hostPidChildren, killSurvivors } from "../host_pid_cleanup.ts";
import { findSandbox, podContainers } from "../lookup.ts";

/**
 * StopPodSandbox stops every process of the sandbox, forcibly, and releases its network (the infra container's
 * netavark teardown frees the IP).
 * Idempotent: a sandbox that is already stopped or gone counts as stopped (CRI api.proto, StopPodSandbox).
 * Podman: GET /libpod/pods/{id}/json, POST /libpod/pods/{id}/kill?signal=SIGKILL, POST /libpod/pods/{id}/stop?t=1.
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
    const orphans = hostPid ? hostPidChildren(await podContainers(ctx, found.pod)) : [];
    await ctx.podman.pods.kill(found.pod.Id, { signal: ctx.signal });
    await killSurvivors(ctx, orphans);
    await ctx.cache.refreshSandboxTree(found.pod.Id, ctx.signal);
  }
  return {};
}
