/**
 * Looks a container up by ID (or unique ID prefix) among the containers cri-podman created.
 * @module
 */
import { CriError } from "../../errors.ts";
import type { LibpodContainerInspect } from "../../podman/types.ts";
import { readStoredContainer, type StoredContainer } from "../../translate/container.ts";
import type { RpcContext } from "../context.ts";

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
