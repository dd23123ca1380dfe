import type { RemovePodSandboxRequest, RemovePodSandboxResponseSchema } from "../../gen/runtime/v1/api_pb.ts";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { RpcContext } from "../context.ts";
import { findSandbox } from "./find_sandbox.ts";

/**
 * RemovePodSandbox removes the sandbox with all of its containers, forcibly if they still run.
 * Idempotent: a sandbox that is gone counts as removed (CRI api.proto, RemovePodSandbox).
 * Podman: GET /libpod/pods/{id}/json, DELETE /libpod/pods/{id}?force=true&timeout=0.
 */
export async function removePodSandbox(
  ctx: RpcContext,
  req: RemovePodSandboxRequest,
): Promise<MessageInitShape<typeof RemovePodSandboxResponseSchema>> {
  const found = await findSandbox(ctx, req.podSandboxId);
  if (found) {
    await ctx.podman.pods.remove(found.pod.Id, { signal: ctx.signal });
    await ctx.cache.refreshSandboxTree(found.pod.Id, ctx.signal);
    ctx.state.sandboxResources.delete(found.pod.Id);
  }
  return {};
}
