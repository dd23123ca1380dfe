import type { StreamImagesRequest, StreamImagesResponseSchema } from "../../gen/runtime/v1/api_pb.ts";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { inBatches } from "../batches.ts";
import type { RpcContext } from "../context.ts";
import { listImages } from "./list_images.ts";

/**
 * StreamImages answers what ListImages answers, in batches; each image appears in exactly one message and the
 * stream ends after the last (CRI api.proto, StreamImages; feature gate CRIListStreaming).
 */
export async function* streamImages(
  ctx: RpcContext,
  req: StreamImagesRequest,
): AsyncIterable<MessageInitShape<typeof StreamImagesResponseSchema>> {
  const { images = [] } = await listImages(
    ctx,
    req.filter ? { ...req, $typeName: "runtime.v1.ListImagesRequest" } : {
      $typeName: "runtime.v1.ListImagesRequest",
    },
  );
  for (const batch of inBatches(images)) yield { images: batch };
}
