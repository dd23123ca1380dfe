import type { ExecRequest, ExecResponseSchema } from "../../gen/runtime/v1/api_pb.ts";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { CriError } from "../../errors.ts";
import type { RpcContext } from "../context.ts";
import { checkStreamFlags, runningContainer } from "../streams.ts";

/**
 * Exec prepares a command to run in a running container with the streams the client asked for, and returns the URL of
 * cri-podman's streaming server where the client runs it (SPDY/3.1 or WebSocket); the command starts when the client
 * connects. The URL's token is single-use and expires (`streaming.token_ttl_seconds`).
 * NOT_FOUND for an unknown container, FAILED_PRECONDITION for one that does not run, INVALID_ARGUMENT for an empty
 * cmd, no stream, or tty with stderr (CRI api.proto, ExecRequest).
 * Podman: GET /libpod/containers/{id}/json (the exec itself runs on connect).
 */
export async function exec(ctx: RpcContext, req: ExecRequest): Promise<MessageInitShape<typeof ExecResponseSchema>> {
  if (req.cmd.length === 0) throw new CriError("InvalidArgument", "cmd must not be empty");
  checkStreamFlags(req);
  const { container } = await runningContainer(ctx, req.containerId);
  const url = ctx.streaming.url({
    kind: "exec",
    containerId: container.Id,
    cmd: [...req.cmd],
    tty: req.tty,
    stdin: req.stdin,
    stdout: req.stdout,
    stderr: req.stderr,
  });
  return { url };
}
