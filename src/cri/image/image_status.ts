import type { ImageStatusRequest, ImageStatusResponseSchema } from "../../gen/runtime/v1/api_pb.ts";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { CriError } from "../../errors.ts";
import { isInfraImage, toCriImageFromInspect, toImageStatusInfo } from "../../translate/images.ts";
import type { RpcContext } from "../context.ts";
import { resolveImage } from "../lookup.ts";

/**
 * ImageStatus returns the status of one image; an image that is not stored yields an empty response, not an error
 * (CRI api.proto, ImageStatus). With `verbose`, `info` carries the image config as JSON.
 * Podman: none when the image cache has it; else GET /libpod/images/{name}/json per lookup candidate (and once more
 * with `verbose`).
 */
export async function imageStatus(
  ctx: RpcContext,
  req: ImageStatusRequest,
): Promise<MessageInitShape<typeof ImageStatusResponseSchema>> {
  const image = req.image?.image;
  if (!image) throw new CriError("InvalidArgument", "image.image must not be empty");
  const found = await resolveImage(ctx, image);
  if (!found) return {};
  const pinned = isInfraImage(found.RepoTags, ctx.config.pods.infra_image)
    ? new Set([`sha256:${found.Id}`])
    : undefined;
  if (!req.verbose) return { image: toCriImageFromInspect(found, pinned), info: {} };
  // verbose: Podman's whole config, not the cache's trimmed copy.
  const full = await ctx.podman.images.inspect(found.Id, { signal: ctx.signal }) ?? found;
  return { image: toCriImageFromInspect(full, pinned), info: toImageStatusInfo(full) };
}
