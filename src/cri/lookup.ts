/**
 * Finds what a CRI call names among the objects cri-podman created: sandboxes and containers by ID (or unique ID
 * prefix; names never resolve), images by ID or reference. Shared by the RPCs of every group.
 * @module
 */
import { CriError } from "../errors.ts";
import type { LibpodContainerInspect, LibpodImageInspect, LibpodPodInspect } from "../podman/types.ts";
import { readStoredContainer, type StoredContainer } from "../translate/container.ts";
import { toImageTarget } from "../translate/image_ref.ts";
import { readStoredSandbox, type StoredSandbox } from "../translate/sandbox.ts";
import type { RpcContext } from "./context.ts";

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

/**
 * The sandbox `id` names, as the event-fed cache keeps it: its full ID and what we stored with it, without a Podman
 * call while its status is kept (the cache reads pod and infra otherwise). NotFound naming the ID when it is not ours.
 */
export async function getKeptSandbox(
  ctx: RpcContext,
  id: string,
  field = "pod_sandbox_id",
): Promise<{ id: string; stored: StoredSandbox }> {
  if (!id) throw new CriError("InvalidArgument", `${field} must not be empty`);
  const read = await ctx.cache.sandboxRead(id, ctx.signal);
  if (!read) throw new CriError("NotFound", `Pod sandbox "${id}" not found`);
  return { id: read.facts.podId, stored: read.facts.stored };
}

/**
 * The full ID of the container `id` names when it is ours: from the cache's list while it is synced (no Podman call),
 * else from an inspect. NotFound naming the ID when it is not ours.
 */
export async function getContainerId(ctx: RpcContext, id: string, field = "container_id"): Promise<string> {
  if (!id) throw new CriError("InvalidArgument", `${field} must not be empty`);
  const listed = ctx.cache.listedContainerId(id);
  if (listed === "unsynced") return (await getContainer(ctx, id, field)).container.Id;
  if (listed === undefined) throw new CriError("NotFound", `Container "${id}" not found`);
  return listed;
}

/** Inspects the running containers of a pod (infra excluded), for the host-PID clean-up of Stop and Remove. */
export async function podContainers(
  ctx: RpcContext,
  pod: LibpodPodInspect,
): Promise<(LibpodContainerInspect | undefined)[]> {
  const running = (pod.Containers ?? []).filter((c) => c.Id !== pod.InfraContainerID && c.State === "running");
  return await Promise.all(running.map((c) => ctx.podman.containers.inspect(c.Id, { signal: ctx.signal })));
}

/** A container: Podman's inspect and what we stored with it. */
export interface FoundContainer {
  container: LibpodContainerInspect;
  stored: StoredContainer;
}

/** Finds the container `id` names; `undefined` when none of ours has that ID (names never resolve here). */
export async function findContainer(ctx: RpcContext, id: string, field = "container_id"): Promise<
  FoundContainer | undefined
> {
  if (!id) throw new CriError("InvalidArgument", `${field} must not be empty`);
  if (!/^[0-9a-f]{1,64}$/.test(id)) return undefined;
  const container = await ctx.podman.containers.inspect(id, { signal: ctx.signal });
  if (!container) return undefined;
  const stored = readStoredContainer(container.Config?.Labels);
  return stored ? { container, stored } : undefined;
}

/** Like {@link findContainer}, but a missing container is NotFound naming the ID. */
export async function getContainer(ctx: RpcContext, id: string, field = "container_id"): Promise<FoundContainer> {
  const found = await findContainer(ctx, id, field);
  if (!found) throw new CriError("NotFound", `Container "${id}" not found`);
  return found;
}

/**
 * The image `image` names, or `undefined` when none is stored: from the image cache when it has it, else asked of
 * Podman (one inspect per lookup candidate). `fresh` always asks Podman (RemoveImage: it acts on the names).
 */
export async function resolveImage(
  ctx: RpcContext,
  image: string,
  field = "image.image",
  opts: { fresh?: boolean } = {},
): Promise<LibpodImageInspect | undefined> {
  const target = toImageTarget(image, field);
  if (!opts.fresh) {
    const kept = await ctx.images.lookup(target);
    if (kept !== "ask") return kept;
  }
  if (target.kind === "id") return await ctx.podman.images.inspect(target.id, { signal: ctx.signal });
  for (const candidate of target.candidates) {
    const found = await ctx.podman.images.inspect(candidate, { signal: ctx.signal });
    if (found) return found;
  }
  return undefined;
}
