import type { PullImageRequest, PullImageResponseSchema } from "../../gen/runtime/v1/api_pb.ts";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { CriError } from "../../errors.ts";
import {
  formatImageReference,
  isInsecureRegistry,
  normalizeForPull,
  parseImageReference,
  toCriImageId,
} from "../../translate/image_ref.ts";
import { toRegistryCredentials } from "../../translate/images.ts";
import type { RpcContext } from "../context.ts";
import { watchPull } from "../pull_progress.ts";

/**
 * PullImage pulls an image by tag or digest with the given credentials and returns its image ID as `image_ref`.
 * Short names are pulled from Docker Hub (`busybox` → `docker.io/library/busybox:latest`), as kubelet expects.
 * Registries listed in `images.insecure_registries` are reached without TLS verification (plain HTTP allowed).
 * Podman: POST /libpod/images/pull (streamed; errors arrive in the stream).
 */
export async function pullImage(
  ctx: RpcContext,
  req: PullImageRequest,
): Promise<MessageInitShape<typeof PullImageResponseSchema>> {
  const image = req.image?.image;
  if (!image) throw new CriError("InvalidArgument", "image.image must not be empty");
  const ref = normalizeForPull(parseImageReference(image));
  const reference = formatImageReference(ref);
  const credentials = toRegistryCredentials(req.auth);
  const insecure = isInsecureRegistry(ref.domain, ctx.config.images.insecure_registries);
  ctx.log.info("pulling image", { image: reference, authenticated: credentials !== undefined });
  const started = performance.now();
  const bytes = await ctx.pullBytes?.track();
  const watch = watchPull({ image: reference, log: ctx.log, metrics: ctx.metrics, bytes });
  let id: string;
  try {
    id = await ctx.podman.images.pull(reference, {
      signal: ctx.signal,
      ...(credentials ? { credentials } : {}),
      ...(insecure ? { tlsVerify: false } : {}),
    });
  } finally {
    await watch.stop();
  }
  const downloaded = await watch.stop();
  // The image's size as Podman stores it; the blob bytes above are what came over the wire (compressed), when seen.
  // The pulled image into the image cache (ImageStatus right after answers from memory), with its stored size.
  const size = (await ctx.images.refreshImage(id, ctx.signal).catch(() => undefined))?.Size;
  ctx.log.info("pulled image", {
    image: reference,
    id: toCriImageId(id),
    ...(size !== undefined ? { size } : {}),
    // 0 = the blobs came and went between two reads (a fast pull): no figure rather than a wrong one.
    ...(downloaded > 0 ? { bytes: downloaded } : {}),
    seconds: Math.round(performance.now() - started) / 1000,
  });
  return { imageRef: toCriImageId(id) };
}
