import type { ListImagesRequest, ListImagesResponseSchema } from "../../gen/runtime/v1/api_pb.ts";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { isInfraImage, toCriImageFromInspect, toCriImageFromSummary } from "../../translate/images.ts";
import { encodeOnce } from "../encode_once.ts";
import type { RpcContext } from "../context.ts";
import { resolveImage } from "../lookup.ts";

/**
 * ListImages lists the stored images; with `filter.image` set, only the image that reference or ID resolves to.
 * The sandbox infra image is `pinned`, so kubelet's image garbage collection leaves it alone.
 * Podman: none while the image cache is synced; else GET /libpod/images/json (one call), or one inspect per lookup
 * candidate when filtered.
 */
export async function listImages(
  ctx: RpcContext,
  req: ListImagesRequest,
): Promise<MessageInitShape<typeof ListImagesResponseSchema>> {
  const wanted = req.filter?.image?.image;
  if (wanted) {
    const found = await resolveImage(ctx, wanted, "filter.image.image");
    if (!found) return { images: [] };
    const pinned = isInfraImage(found.RepoTags, ctx.config.pods.infra_image)
      ? new Set([`sha256:${found.Id}`])
      : undefined;
    return { images: [toCriImageFromInspect(found, pinned)] };
  }
  // One response object (encoded once) per state of the image cache.
  const kept = await ctx.images.memoize("ListImages", (images) => {
    const pinned = new Set(
      images.filter((img) => isInfraImage(img.RepoTags, ctx.config.pods.infra_image)).map((img) => `sha256:${img.Id}`),
    );
    return encodeOnce({ images: images.map((img) => toCriImageFromInspect(img, pinned)) });
  });
  if (kept) return kept;
  const images = await ctx.podman.images.list({ signal: ctx.signal });
  const pinned = new Set(
    images.filter((img) => isInfraImage(img.RepoTags, ctx.config.pods.infra_image)).map((img) => `sha256:${img.Id}`),
  );
  return { images: images.map((img) => toCriImageFromSummary(img, pinned)) };
}
