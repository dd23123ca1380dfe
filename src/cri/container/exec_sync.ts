import type { ExecSyncRequest, ExecSyncResponseSchema } from "../../gen/runtime/v1/api_pb.ts";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { CriError } from "../../errors.ts";
import { isPodmanFailure } from "../../podman/errors.ts";
import { DEFAULT_MAX_OUTPUT_BYTES } from "../../podman/exec.ts";
import type { RpcContext } from "../context.ts";
import { getContainer } from "../lookup.ts";

/**
 * ExecSync runs a command in a running container and returns its exit code and its stdout and stderr, kept apart
 * and each capped at 16 MiB (the rest is read and dropped). With `timeout` > 0 seconds, a command still running at
 * the deadline is killed with every process it started, and the call answers DEADLINE_EXCEEDED (what kubelet's exec
 * probes expect). NOT_FOUND for an unknown container; FAILED_PRECONDITION for one that is not running.
 * Podman: GET /libpod/containers/{id}/json, POST /libpod/containers/{id}/exec, POST /libpod/exec/{id}/start
 * (hijacked), GET /libpod/exec/{id}/json.
 */
export async function execSync(
  ctx: RpcContext,
  req: ExecSyncRequest,
): Promise<MessageInitShape<typeof ExecSyncResponseSchema>> {
  if (req.cmd.length === 0) throw new CriError("InvalidArgument", "cmd must not be empty");
  const { container } = await getContainer(ctx, req.containerId);
  const timeoutMs = req.timeout > 0n ? Number(req.timeout) * 1000 : undefined;
  const result = await ctx.podman.exec.run(container.Id, req.cmd, {
    signal: ctx.signal,
    maxOutputBytes: DEFAULT_MAX_OUTPUT_BYTES,
    ...(timeoutMs !== undefined ? { timeoutMs } : {}),
  }).catch((err) => {
    if (!isPodmanFailure(err, "not-running")) throw err;
    throw new CriError("FailedPrecondition", `Container "${container.Id}" is not running: ${err.message}`, {
      cause: err,
    });
  });
  if (result.timedOut) {
    throw new CriError(
      "DeadlineExceeded",
      `ExecSync in container "${container.Id}" timed out after ${req.timeout}s; the command was killed`,
    );
  }
  return { stdout: result.stdout, stderr: result.stderr, exitCode: result.exitCode };
}
