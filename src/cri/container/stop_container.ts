import {
  ContainerState,
  type StopContainerRequest,
  type StopContainerResponseSchema,
} from "../../gen/runtime/v1/api_pb.ts";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { RpcContext } from "../context.ts";
import { findContainer } from "../lookup.ts";
import { hostPidChildren, killSurvivors } from "../host_pid_cleanup.ts";
import { awaitRecordedExit, stopMainProcess } from "../direct_stop.ts";
import { conmonExitFile, waitForNonEmptyFile } from "../../host/container_process.ts";
import { traced } from "../../observability/call_trace.ts";

/**
 * StopContainer sends the container's stop signal and SIGKILL after `timeout` seconds (0: at once), and returns once
 * the main process is gone. cri-podman signals and watches the process itself (direct_stop.ts: Podman's stop polls
 * every 100 ms); Podman records the exit through conmon as for any exit. Where that cannot be done safely, Podman's
 * stop does it.
 * Idempotent: a container that is already stopped or gone counts as stopped (CRI api.proto, StopContainer).
 * Podman: GET /libpod/containers/{id}/json; POST /libpod/containers/{id}/stop?timeout=N only as the fallback.
 */
export async function stopContainer(
  ctx: RpcContext,
  req: StopContainerRequest,
): Promise<MessageInitShape<typeof StopContainerResponseSchema>> {
  const found = await findContainer(ctx, req.containerId);
  if (!found) return {};
  const timeoutSeconds = Math.max(0, Number(req.timeout));
  const orphans = hostPidChildren([found.container]);
  // Gone is not yet recorded: Podman says "running" until conmon wrote the exit file (its own stop waits for that).
  // Watching that file costs no libpod call. Podman's clean-up process deletes it once read (150–250 ms after the
  // exit), so a file not seen within 50 ms (a loaded host) hands over to asking inspect until it says stopped.
  const exitFile = conmonExitFile(found.container.State.Pid, found.container.Id);
  const direct = await stopMainProcess(ctx, found.container, timeoutSeconds);
  const recorded = direct &&
    ((exitFile !== undefined &&
      await traced("exit recorded", () => waitForNonEmptyFile(exitFile, 50, { signal: ctx.signal }))) ||
      await awaitRecordedExit(ctx, found.container.Id));
  if (!recorded) {
    await ctx.podman.containers.stop(found.container.Id, { timeoutSeconds, signal: ctx.signal });
  }
  await killSurvivors(ctx, orphans);
  // Stopped is what this call produced, and Podman has recorded it (exit code, finish time) by now.
  ctx.cache.setContainerState(found.container.Id, ContainerState.CONTAINER_EXITED);
  return {};
}
