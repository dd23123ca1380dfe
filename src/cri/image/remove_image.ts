import type { RemoveImageRequest, RemoveImageResponseSchema } from "../../gen/runtime/v1/api_pb.ts";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { CriError } from "../../errors.ts";
import type { RpcContext } from "../context.ts";
import { resolveImage } from "../lookup.ts";

/**
 * RemoveImage removes the image a tag, ID or digest names, with all of its tags.
 * Idempotent: an image that is not stored counts as removed (CRI api.proto, RemoveImage).
 * An image a container uses is refused with FAILED_PRECONDITION and keeps every name.
 * Podman: GET /libpod/containers/json?filters=ancestor, POST /libpod/images/{id}/untag, DELETE /libpod/images/{id}
 * (and POST …/tag to give the names back if the delete fails).
 */
export async function removeImage(
  ctx: RpcContext,
  req: RemoveImageRequest,
): Promise<MessageInitShape<typeof RemoveImageResponseSchema>> {
  const image = req.image?.image;
  if (!image) throw new CriError("InvalidArgument", "image.image must not be empty");
  // Asked of Podman, not the cache: the removal acts on the image's current names.
  const found = await resolveImage(ctx, image, "image.image", { fresh: true });
  if (found) {
    await ctx.podman.images.removeById(found.Id, found.RepoTags ?? [], { signal: ctx.signal });
    ctx.images.forget(found.Id);
  }
  return {};
}
