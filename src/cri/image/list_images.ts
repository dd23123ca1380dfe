import type { ListImagesRequest, ListImagesResponseSchema } from "../../gen/runtime/v1/api_pb.ts";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { toCriImageFromInspect, toCriImageFromSummary } from "../../translate/images.ts";
import type { RpcContext } from "../context.ts";
import { resolveImage } from "./resolve_image.ts";

/**
 * ListImages lists the stored images; with `filter.image` set, only the image that reference or ID resolves to.
 * Podman: GET /libpod/images/json (one call), or one inspect per lookup candidate when filtered.
 */
export async function listImages(
  ctx: RpcContext,
  req: ListImagesRequest,
): Promise<MessageInitShape<typeof ListImagesResponseSchema>> {
  const wanted = req.filter?.image?.image;
  if (wanted) {
    const found = await resolveImage(ctx, wanted, "filter.image.image");
    return { images: found ? [toCriImageFromInspect(found)] : [] };
  }
  const images = await ctx.podman.images.list({ signal: ctx.signal });
  return { images: images.map((img) => toCriImageFromSummary(img)) };
}
