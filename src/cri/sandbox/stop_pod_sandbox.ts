import type { StopPodSandboxRequest, StopPodSandboxResponseSchema } from "../../gen/runtime/v1/api_pb.ts";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { RpcContext } from "../context.ts";
import { findSandbox } from "./find_sandbox.ts";

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
  const found = await findSandbox(ctx, req.podSandboxId);
  if (found) {
    await ctx.podman.pods.kill(found.pod.Id, { signal: ctx.signal });
    await ctx.cache.refreshSandboxTree(found.pod.Id, ctx.signal);
  }
  return {};
}
