import {
  NamespaceMode,
  type RemovePodSandboxRequest,
  type RemovePodSandboxResponseSchema,
} from "../../gen/runtime/v1/api_pb.ts";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { RpcContext } from "../context.ts";
import { hostPidChildren, killSurvivors } from "../host_pid_cleanup.ts";
import { findSandbox, podContainers } from "../lookup.ts";

/**
 * RemovePodSandbox removes the sandbox with all of its containers, forcibly if they still run.
 * Idempotent: a sandbox that is gone counts as removed (CRI api.proto, RemovePodSandbox).
 * Podman: GET /libpod/pods/{id}/json, DELETE /libpod/pods/{id}?force=true&timeout=0.
 */
export async function removePodSandbox(
  ctx: RpcContext,
  req: RemovePodSandboxRequest,
): Promise<MessageInitShape<typeof RemovePodSandboxResponseSchema>> {
  // The port answers an absent pod with undefined (inspect) or a no-op (remove): idempotent without more.
  const found = await findSandbox(ctx, req.podSandboxId);
  if (found) {
    // Only host-PID pods need the process scan (kubelet gives their containers the host's PID namespace).
    const hostPid = found.stored.config.linux?.securityContext?.namespaceOptions?.pid === NamespaceMode.NODE;
    const orphans = hostPid ? hostPidChildren(await podContainers(ctx, found.pod)) : [];
    await ctx.podman.pods.remove(found.pod.Id, { signal: ctx.signal });
    await killSurvivors(ctx, orphans);
    await ctx.cache.refreshSandboxTree(found.pod.Id, ctx.signal);
    ctx.state.sandboxResources.delete(found.pod.Id);
  }
  return {};
}
