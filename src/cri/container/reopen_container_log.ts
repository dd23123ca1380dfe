import type { ReopenContainerLogRequest, ReopenContainerLogResponseSchema } from "../../gen/runtime/v1/api_pb.ts";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { CriError } from "../../errors.ts";
import { inodeOf, reopenConmonLog, waitForNewFile } from "../../host/conmon_ctl.ts";
import type { RpcContext } from "../context.ts";
import { getContainer } from "../lookup.ts";

/**
 * ReopenContainerLog makes the log writer (conmon) reopen the container's log file, so that after kubelet renamed
 * it, new lines land in a new file at the original path (CRI api.proto; kubelet's log rotation). FAILED_PRECONDITION
 * for a container that is not running or has no log path; NOT_FOUND for an unknown one.
 * Podman: GET /libpod/containers/{id}/json; then conmon's control FIFO (no libpod endpoint in 4.3).
 */
export async function reopenContainerLog(
  ctx: RpcContext,
  req: ReopenContainerLogRequest,
): Promise<MessageInitShape<typeof ReopenContainerLogResponseSchema>> {
  const { container, stored } = await getContainer(ctx, req.containerId);
  if (!stored.logPath) {
    throw new CriError("FailedPrecondition", `Container "${container.Id}" has no log path to reopen`);
  }
  if (!container.State.Running || !container.StaticDir) {
    throw new CriError("FailedPrecondition", `Container "${container.Id}" is not running; its log cannot be reopened`);
  }
  const before = await inodeOf(stored.logPath);
  try {
    await reopenConmonLog(`${container.StaticDir}/ctl`);
  } catch (err) {
    throw new CriError(
      "FailedPrecondition",
      `Cannot reopen the log of container "${container.Id}": ${(err as Error).message}`,
      { cause: err },
    );
  }
  // conmon opens the new file asynchronously; kubelet (and critest) look for it as soon as this call returns.
  if (!(await waitForNewFile(stored.logPath, before, 5_000))) {
    throw new CriError("Unknown", `conmon did not reopen the log of container "${container.Id}" within 5 s`);
  }
  return {};
}
