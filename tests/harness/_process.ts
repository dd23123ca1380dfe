/**
 * Long-running child processes for the harness (Podman service, registry): output goes to a log file, stop is
 * SIGTERM then SIGKILL, and anything still running when the test process exits normally is killed.
 * @module
 */

/** A child process started by {@linkcode spawnBackground}. */
export interface BackgroundProcess {
  /** Process id of the command itself (the shell wrapper `exec`s it). */
  readonly pid: number;
  /** File receiving the command's stdout and stderr. */
  readonly logPath: string;
  /** Settles when the process has exited and been reaped. */
  readonly exited: Promise<Deno.CommandStatus>;
  /** True once {@linkcode BackgroundProcess.exited} has settled. */
  readonly hasExited: boolean;
  /** Sends a signal; does nothing if the process is already gone. */
  kill(signal?: Deno.Signal): void;
  /** Sends SIGTERM, waits up to `graceMs`, then SIGKILL; resolves once the process is reaped. */
  stop(graceMs?: number): Promise<Deno.CommandStatus>;
  /** Returns the last `lines` lines of the log, for error messages. */
  logTail(lines?: number): string;
}

const live = new Set<BackgroundProcess>();
globalThis.addEventListener("unload", () => {
  // Last resort when a test forgot to stop something: never leave services behind a finished test run.
  for (const proc of live) proc.kill("SIGKILL");
});

/** Options for {@linkcode spawnBackground}. */
export interface SpawnOptions {
  /** Log file (appended to). */
  logPath: string;
  /** Extra environment variables on top of this process's environment. */
  env?: Record<string, string>;
}

/** Starts `command args…` in the background with stdin closed and output appended to `logPath`. */
export function spawnBackground(command: string, args: string[], options: SpawnOptions): BackgroundProcess {
  // `exec` keeps the pid of the real command, so signals reach it directly.
  const child = new Deno.Command("bash", {
    args: ["-c", 'exec "$@" >>"$CRI_PODMAN_HARNESS_LOG" 2>&1', "bash", command, ...args],
    env: { ...options.env, CRI_PODMAN_HARNESS_LOG: options.logPath },
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  let hasExited = false;
  const exited = child.status.finally(() => {
    hasExited = true;
    live.delete(proc);
  });
  const kill = (signal: Deno.Signal = "SIGTERM") => {
    if (hasExited) return;
    try {
      child.kill(signal);
    } catch {
      // Already exited but not yet reaped: nothing to signal.
    }
  };
  const proc: BackgroundProcess = {
    pid: child.pid,
    logPath: options.logPath,
    exited,
    get hasExited() {
      return hasExited;
    },
    kill,
    stop: (graceMs = 10_000) => stopGracefully(kill, exited, graceMs),
    logTail(lines = 30) {
      try {
        return Deno.readTextFileSync(options.logPath).trimEnd().split("\n").slice(-lines).join("\n");
      } catch {
        return "(no log)";
      }
    },
  };
  live.add(proc);
  return proc;
}

/** Runs a command to completion and returns its stdout; throws with stderr when it exits non-zero. */
export async function run(command: string, args: string[], options: { stdin?: string } = {}): Promise<string> {
  const child = new Deno.Command(command, {
    args,
    stdin: options.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (options.stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(options.stdin));
    await writer.close();
  }
  const { code, stdout, stderr } = await child.output();
  const decoder = new TextDecoder();
  if (code !== 0) {
    throw new Error(`Command failed (exit ${code}): ${command} ${args.join(" ")}: ${decoder.decode(stderr).trim()}`);
  }
  return decoder.decode(stdout);
}

/** SIGTERM, then SIGKILL if the process has not exited after `graceMs`; resolves with its status once reaped. */
export async function stopGracefully(
  kill: (signal: Deno.Signal) => void,
  exited: Promise<Deno.CommandStatus>,
  graceMs: number,
): Promise<Deno.CommandStatus> {
  kill("SIGTERM");
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), graceMs);
  });
  const first = await Promise.race([exited, timedOut]);
  clearTimeout(timer);
  if (first === "timeout") kill("SIGKILL");
  return await exited;
}
