/**
 * The stop paths that skip Podman's waiting (measured in bench/lifecycle.ts): a container's main process is
 * signalled and watched by cri-podman itself (src/host/container_process.ts), and a pod's network is released by
 * stopping its infra container through Podman, which then tears the network down in the service at once instead of
 * leaving it to the `podman container cleanup` process conmon starts ~150–250 ms after an exit. Whenever a direct
 * step cannot prove what it acts on, Podman's own stop does the step.
 * @module
 */
import { isContainerMainProcess, signalContainerProcess, waitForExit } from "../host/container_process.ts";
import type { LibpodContainerInspect } from "../podman/types.ts";
import { signalName } from "../translate/signals.ts";
import { traced } from "../observability/call_trace.ts";
import type { RpcContext } from "./context.ts";

/** How long a SIGKILLed process may take to end before Podman's stop is asked instead. */
const KILL_WAIT_MS = 10_000;

/**
 * Ends a running container's main process: its stop signal, then SIGKILL once `timeoutSeconds` passed (at once for
 * 0), as Podman's stop would, but watching `/proc` instead of polling every 100 ms. True once the process is gone;
 * false when cri-podman cannot act on it directly (the pid is not provably the container's, the signal has no name
 * Deno can send, the kernel refuses): the caller then asks Podman.
 */
export async function stopMainProcess(
  ctx: RpcContext,
  container: LibpodContainerInspect,
  timeoutSeconds: number,
): Promise<boolean> {
  const { Id: id } = container;
  const pid = container.State.Pid;
  // Not provably the container's process (ended meanwhile, or cri-podman sees another PID namespace than Podman's):
  // Podman decides.
  if (!container.State.Running || !isContainerMainProcess(pid, id)) return false;
  return await traced("direct stop", async () => {
    // "gone" from here on: the process proven ours a moment ago has ended.
    if (timeoutSeconds > 0) {
      const name = signalName(container.Config?.StopSignal ?? 15);
      if (name === undefined) return false;
      if (signalContainerProcess(pid, id, name) === "denied") return false;
      if (await waitForExit([pid], timeoutSeconds * 1000, { signal: ctx.signal })) return true;
    }
    if (signalContainerProcess(pid, id, "SIGKILL") === "denied") return false;
    return await waitForExit([pid], KILL_WAIT_MS, { signal: ctx.signal });
  });
}

/**
 * Waits until Podman has recorded the exit of a container whose main process we saw end: Podman 4.3 answers "running"
 * until conmon has reaped the process and written its exit file, which took 3–4 ms on an idle host and longer under
 * load (a ContainerStatus right after StopContainer said RUNNING once in a full test run). Polls inspect (2 ms, doubling
 * to 50 ms) up to `waitMs`; true once recorded (or the container is gone), false when it was not by then.
 */
export async function awaitRecordedExit(ctx: RpcContext, id: string, waitMs = 10_000): Promise<boolean> {
  const started = performance.now();
  for (let delay = 2;; delay = Math.min(50, delay * 2)) {
    const c = await ctx.podman.containers.inspect(id, { signal: ctx.signal });
    if (!c || (!c.State.Running && c.State.Status !== "running")) return true;
    if (performance.now() - started > waitMs) return false;
    await new Promise((resolve) => setTimeout(resolve, delay));
  }
}

/**
 * Stops a pod's infra container through Podman, which releases the pod's network in the same call (no read after
 * it); when Podman had already seen the infra exit (304: its clean-up then belongs to conmon's clean-up process),
 * waits until that process released the network, up to `waitMs`. Returns false when the network was still held then.
 */
export async function stopInfraAndReleaseNetwork(ctx: RpcContext, infraId: string, waitMs = 10_000): Promise<boolean> {
  if (await ctx.podman.containers.stop(infraId, { timeoutSeconds: 0, signal: ctx.signal })) return true;
  const started = performance.now();
  for (let delay = 5;; delay = Math.min(100, delay * 2)) {
    const infra = await ctx.podman.containers.inspect(infraId, { signal: ctx.signal });
    if (!infra || networkReleased(infra)) return true;
    if (performance.now() - started > waitMs) return false;
    await new Promise((resolve) => setTimeout(resolve, delay));
  }
}

/** True when a container neither runs nor holds an address on any network (Podman's clean-up has run). */
export function networkReleased(c: LibpodContainerInspect): boolean {
  if (c.State.Running || c.State.Status === "running" || c.State.Status === "stopping") return false;
  const settings = c.NetworkSettings;
  if (settings?.IPAddress || settings?.GlobalIPv6Address) return false;
  return Object.values(settings?.Networks ?? {}).every((n) => !n.IPAddress && !n.GlobalIPv6Address);
}
