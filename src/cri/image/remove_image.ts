import type { RemoveImageRequest, RemoveImageResponseSchema } from "../../gen/runtime/v1/api_pb.ts";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { CriError } from "../../errors.ts";
import type { RpcContext } from "../context.ts";
import { resolveImage } from "./resolve_image.ts";

/**
 * RemoveImage removes the image a tag, ID or digest names, with all of its tags.
 * Idempotent: an image that is not stored counts as removed (CRI api.proto, RemoveImage).
 * Podman: POST /libpod/images/{id}/untag, then DELETE /libpod/images/{id} (409 while containers use it).
 */
export async function removeImage(
  ctx: RpcContext,
  req: RemoveImageRequest,
): Promise<MessageInitShape<typeof RemoveImageResponseSchema>> {
  const image = req.image?.image;
  if (!image) throw new CriError("InvalidArgument", "image.image must not be empty");
  const found = await resolveImage(ctx, image);
  if (found) await ctx.podman.images.removeById(found.Id, { signal: ctx.signal });
  return {};
}
