import type { AttachRequest, AttachResponseSchema } from "../../gen/runtime/v1/api_pb.ts";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { RpcContext } from "../context.ts";
import { checkStreamFlags, runningContainer } from "../streams.ts";

/**
 * Attach returns the URL of cri-podman's streaming server where the client attaches to a running container's main
 * process (its stdin, stdout and stderr as asked; a TTY when the container has one). The URL's token is single-use and
 * expires. NOT_FOUND for an unknown container, FAILED_PRECONDITION for one that does not run, INVALID_ARGUMENT for no
 * stream or tty with stderr (CRI api.proto, AttachRequest). The container's `stdin_once` decides what a client's end of
 * stdin does: with it, the container's stdin closes; without it, it stays open for the next attach.
 * Podman: GET /libpod/containers/{id}/json (the attachment is made on connect).
 */
export async function attach(
  ctx: RpcContext,
  req: AttachRequest,
): Promise<MessageInitShape<typeof AttachResponseSchema>> {
  checkStreamFlags(req);
  const { container, stored } = await runningContainer(ctx, req.containerId);
  const url = ctx.streaming.url({
    kind: "attach",
    containerId: container.Id,
    stdinOnce: stored.config.stdinOnce,
    tty: req.tty,
    stdin: req.stdin,
    stdout: req.stdout,
    stderr: req.stderr,
  });
  return { url };
}
