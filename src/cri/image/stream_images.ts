import type { StreamImagesRequest, StreamImagesResponseSchema } from "../../gen/runtime/v1/api_pb.ts";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { RpcContext } from "../context.ts";
import { listImages } from "./list_images.ts";

/** Images per StreamImages message: keeps each message far below gRPC's 4 MiB default limit. */
const BATCH = 200;

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
  for (let i = 0; i < images.length; i += BATCH) yield { images: images.slice(i, i + BATCH) };
}
