/**
 * A container's main process, reached directly: Podman's own stop path polls for the process's end every 100 ms
 * (twice: the process, then conmon) and a pod's kill runs the OCI runtime once per container, while kubelet only
 * needs the process dead. cri-podman signals the process itself when it can prove the pid is still that container's
 * (its parent is the conmon that monitors the container: `conmon … -c <ID>`), and watches `/proc` for its end.
 * @module
 */
import { conmonContainerId } from "./proc_stats.ts";

/** `/proc` as this module reads it (tests give a fake). */
export interface ProcFiles {
  readText(path: string): string | undefined;
}

/** The real `/proc`; undefined for a file that is gone or not ours to read. */
export const realProcFiles: ProcFiles = {
  readText(path) {
    try {
      return Deno.readTextFileSync(path);
    } catch {
      return undefined;
    }
  },
};

/** State letter and parent pid from `/proc/<pid>/stat`; undefined when the process is gone. */
function statOf(proc: ProcFiles, pid: number): { state: string; ppid: number } | undefined {
  const stat = proc.readText(`/proc/${pid}/stat`);
  if (stat === undefined) return undefined;
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return { state: fields[0] ?? "", ppid: Number(fields[1]) };
}

/** True while `pid` runs: not gone, not a zombie waiting for its parent. */
export function isRunning(pid: number, proc: ProcFiles = realProcFiles): boolean {
  const stat = statOf(proc, pid);
  return stat !== undefined && stat.state !== "Z" && stat.state !== "X";
}

/**
 * True when `pid` is, right now, the main process of container `containerId`: running, and its parent is the conmon
 * that monitors that container. A pid the kernel reused for anything else fails this.
 */
export function isContainerMainProcess(pid: number, containerId: string, proc: ProcFiles = realProcFiles): boolean {
  return monitoringConmonArgv(pid, containerId, proc) !== undefined;
}

/** The command line of the conmon that monitors container `containerId`, when `pid` is its running main process. */
function monitoringConmonArgv(pid: number, containerId: string, proc: ProcFiles): string[] | undefined {
  if (!(pid > 1)) return undefined;
  const stat = statOf(proc, pid);
  if (!stat || stat.state === "Z" || stat.state === "X") return undefined;
  const cmdline = proc.readText(`/proc/${stat.ppid}/cmdline`);
  if (cmdline === undefined) return undefined;
  const argv = cmdline.split("\0").filter((a) => a !== "");
  if (!(argv[0] ?? "").endsWith("conmon")) return undefined;
  return conmonContainerId(argv) === containerId ? argv : undefined;
}

/** What {@link signalContainerProcess} did. */
export type SignalOutcome = "sent" | "gone" | "denied";

/**
 * Sends `signal` to the main process of `containerId` when `pid` still is it: "sent"; "gone" when it is not (ended,
 * or never ours); "denied" when the kernel refuses (cri-podman in another user namespace than Podman's owner).
 */
export function signalContainerProcess(
  pid: number,
  containerId: string,
  signal: Deno.Signal,
  proc: ProcFiles = realProcFiles,
  kill: (pid: number, signal: Deno.Signal) => void = Deno.kill,
): SignalOutcome {
  if (!isContainerMainProcess(pid, containerId, proc)) return "gone";
  try {
    kill(pid, signal);
    return "sent";
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return "gone";
    return "denied";
  }
}

/**
 * Waits until none of `pids` runs; true then, false when `timeoutMs` passed first. Polls `/proc` every 2 ms for the
 * first 50 ms (a killed process ends within a few), then backs off to 50 ms.
 */
export async function waitForExit(
  pids: readonly number[],
  timeoutMs: number,
  opts: { proc?: ProcFiles; signal?: AbortSignal | undefined } = {},
): Promise<boolean> {
  const proc = opts.proc ?? realProcFiles;
  const started = performance.now();
  let pending = pids.filter((pid) => isRunning(pid, proc));
  while (pending.length > 0) {
    const elapsed = performance.now() - started;
    if (elapsed >= timeoutMs || opts.signal?.aborted) return false;
    const step = elapsed < 50 ? 2 : Math.min(50, 2 + elapsed / 10);
    await new Promise((resolve) => setTimeout(resolve, Math.min(step, timeoutMs - elapsed)));
    pending = pending.filter((pid) => isRunning(pid, proc));
  }
  return true;
}

/**
 * The file conmon writes the exit code of container `containerId` into, from the `--exit-dir` of the conmon that is
 * `pid`'s parent (Podman 4.3 says "running" until that file exists: it reads nothing else). Undefined when `pid` is not
 * provably that container's main process or its conmon names no exit directory. Read it before signalling.
 */
export function conmonExitFile(pid: number, containerId: string, proc: ProcFiles = realProcFiles): string | undefined {
  const argv = monitoringConmonArgv(pid, containerId, proc) ?? [];
  const at = argv.indexOf("--exit-dir");
  const dir = at >= 0 ? argv[at + 1] : undefined;
  return dir && dir.startsWith("/") ? `${dir.replace(/\/+$/, "")}/${containerId}` : undefined;
}

/**
 * Waits until `path` exists and is not empty (conmon's exit file, written once the process was reaped); true then,
 * false when `timeoutMs` passed first. Polls every millisecond for the first 50 ms, then backs off to 50 ms.
 */
export async function waitForNonEmptyFile(
  path: string,
  timeoutMs: number,
  opts: { signal?: AbortSignal | undefined } = {},
): Promise<boolean> {
  const started = performance.now();
  const ready = () => {
    try {
      return Deno.statSync(path).size > 0;
    } catch {
      return false;
    }
  };
  while (!ready()) {
    const elapsed = performance.now() - started;
    if (elapsed >= timeoutMs || opts.signal?.aborted) return false;
    const step = elapsed < 50 ? 1 : Math.min(50, 1 + elapsed / 10);
    await new Promise((resolve) => setTimeout(resolve, Math.min(step, timeoutMs - elapsed)));
  }
  return true;
}
