/**
 * The ImageService of CRI v1, every RPC in proto order: the table of contents of image management.
 * @module
 */
import type { ImageService } from "../gen/runtime/v1/api_pb.ts";
import type { ServiceHandlers } from "./handler_types.ts";
import type { RpcContext } from "./context.ts";
import { imageFsInfo } from "./image/image_fs_info.ts";
import { imageStatus } from "./image/image_status.ts";
import { listImages } from "./image/list_images.ts";
import { pullImage } from "./image/pull_image.ts";
import { removeImage } from "./image/remove_image.ts";
import { streamImages } from "./image/stream_images.ts";

/** Handlers of runtime.v1.ImageService. */
export const imageServiceHandlers: ServiceHandlers<typeof ImageService, RpcContext> = {
  listImages,
  streamImages,
  imageStatus,
  pullImage,
  removeImage,
  imageFsInfo,
};
