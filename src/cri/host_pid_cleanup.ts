/**
 * Processes a host-PID container forked outlive it on rootless hosts without cgroups: stopping the container ends
 * only its main process, and no PID namespace or cgroup takes the children with it. Stop and Remove note the
 * children before and kill the survivors after.
 * @module
 */
import { descendantsOf, signalProcesses, stillRunning } from "../host/processes.ts";
import type { LibpodContainerInspect } from "../podman/types.ts";
import type { RpcContext } from "./context.ts";

/** The processes below the main process of every running host-PID container among `containers`. */
export function hostPidChildren(containers: readonly (LibpodContainerInspect | undefined)[]): number[] {
  const pids: number[] = [];
  for (const c of containers) {
    if (c?.HostConfig?.PidMode === "host" && c.State.Running && c.State.Pid > 0) {
      pids.push(...descendantsOf(c.State.Pid));
    }
  }
  return pids;
}

/** Kills those of `pids` that outlived their container. */
export async function killSurvivors(ctx: RpcContext, pids: readonly number[]): Promise<void> {
  if (pids.length === 0) return;
  const survivors = stillRunning(pids);
  if (survivors.length === 0) return;
  ctx.log.info("killing processes a host-PID container left behind", { pids: survivors });
  await signalProcesses(survivors, "SIGKILL");
}
