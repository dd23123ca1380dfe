import type { ImageFsInfoRequest, ImageFsInfoResponseSchema } from "../../gen/runtime/v1/api_pb.ts";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { podmanInfo } from "../podman_info.ts";
import type { RpcContext } from "../context.ts";

/**
 * ImageFsInfo reports bytes and inodes used under Podman's graph root, where images and container layers live.
 * The walk is cached for a few seconds (FsUsageProbe); Podman's info (graph root) is cached too.
 * Podman: GET /libpod/info (cached).
 */
export async function imageFsInfo(
  ctx: RpcContext,
  _req: ImageFsInfoRequest,
): Promise<MessageInitShape<typeof ImageFsInfoResponseSchema>> {
  const info = await podmanInfo(ctx);
  const root = info.store.graphRoot;
  const usage = await ctx.fsUsage.usage(root);
  return {
    imageFilesystems: [{
      timestamp: BigInt(usage.timestampMs) * 1_000_000n,
      fsId: { mountpoint: root },
      usedBytes: { value: usage.usedBytes },
      inodesUsed: { value: usage.inodesUsed },
    }],
  };
}
