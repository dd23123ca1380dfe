/**
 * Looks a sandbox up by ID (or unique ID prefix) among the pods cri-podman created.
 * @module
 */
import { CriError } from "../../errors.ts";
import type { LibpodContainerInspect, LibpodPodInspect } from "../../podman/types.ts";
import { readStoredSandbox, type StoredSandbox } from "../../translate/sandbox.ts";
import type { RpcContext } from "../context.ts";

/** A sandbox: its pod and what we stored with it. */
export interface FoundSandbox {
  pod: LibpodPodInspect;
  stored: StoredSandbox;
}

/** Finds the sandbox `id` names; `undefined` when no pod of ours has that ID. Pods we did not create never match. */
export async function findSandbox(ctx: RpcContext, id: string, field = "pod_sandbox_id"): Promise<
  FoundSandbox | undefined
> {
  if (!id) throw new CriError("InvalidArgument", `${field} must not be empty`);
  if (!/^[0-9a-f]{1,64}$/.test(id)) return undefined; // not an ID: never resolve names here
  const pod = await ctx.podman.pods.inspect(id, { signal: ctx.signal });
  if (!pod) return undefined;
  const stored = readStoredSandbox(pod.Labels);
  return stored ? { pod, stored } : undefined;
}

/** Like {@link findSandbox}, but a missing sandbox is NotFound naming the ID. */
export async function getSandbox(ctx: RpcContext, id: string, field = "pod_sandbox_id"): Promise<FoundSandbox> {
  const found = await findSandbox(ctx, id, field);
  if (!found) throw new CriError("NotFound", `Pod sandbox "${id}" not found`);
  return found;
}

/** Inspects the running containers of a pod (infra excluded), for the host-PID clean-up of Stop and Remove. */
export async function podContainers(
  ctx: RpcContext,
  pod: LibpodPodInspect,
): Promise<(LibpodContainerInspect | undefined)[]> {
  const running = (pod.Containers ?? []).filter((c) => c.Id !== pod.InfraContainerID && c.State === "running");
  return await Promise.all(running.map((c) => ctx.podman.containers.inspect(c.Id, { signal: ctx.signal })));
}
