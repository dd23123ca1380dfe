/**
 * Finds the stored image a CRI image string names: by ID (or ID prefix), else by reference candidates in order.
 * @module
 */
import type { LibpodImageInspect } from "../../podman/types.ts";
import { toImageTarget } from "../../translate/image_ref.ts";
import type { RpcContext } from "../context.ts";

/** Inspects the image `image` names, or returns `undefined` when none is stored. */
export async function resolveImage(
  ctx: RpcContext,
  image: string,
  field = "image.image",
): Promise<LibpodImageInspect | undefined> {
  const target = toImageTarget(image, field);
  if (target.kind === "id") return await ctx.podman.images.inspect(target.id, { signal: ctx.signal });
  for (const candidate of target.candidates) {
    const found = await ctx.podman.images.inspect(candidate, { signal: ctx.signal });
    if (found) return found;
  }
  return undefined;
}
