/**
 * Run commands inside a pod's network namespace, without containers: `nsenter -t <pid> -U -n
 * --preserve-credentials` from the unprivileged test user, with `pid` usually the pid of a pod's infra container
 * (`State.Pid` of `GET /libpod/containers/<infraId>/json`). Used to serve HTTP "inside a pod" and to fetch from
 * one pod's network namespace to another pod's IP.
 *
 * Facts this relies on (Podman 4.3.1 rootless, util-linux 2.38 nsenter, Debian busybox-static 1.35):
 * - `-n` without `-U` fails with EPERM for the unprivileged user; `-U` into the user namespace the caller is
 *   already in fails with EINVAL, so `-U` is left out when the target shares our user namespace.
 * - A target already in our network namespace (host-network pod) cannot be entered with `-U -n` (EPERM): the
 *   command then runs directly, see {@linkcode netnsArgv}.
 * - nsenter without `-p` does not fork: it `exec`s the command, so the child's pid is the command's pid and
 *   signals reach it directly.
 * - busybox wget has no working timeout flag in this build (`-T` is not compiled in and makes it segfault), so
 *   timeouts here kill the process instead.
 *
 * ```ts
 * await using server = await serveHttpInNetns(infraPidA, 8080, "hello");
 * const body = await httpGetInNetns(infraPidB, `http://${podIpA}:8080/`, { timeoutMs: 5_000 });
 * ```
 * @module
 */

import { stopGracefully } from "./_process.ts";

/** The nsenter binary (util-linux). */
const NSENTER = "nsenter";
/** Statically linked busybox on the host (Debian `busybox-static`); it runs in any mount namespace. */
const BUSYBOX = "/bin/busybox";
/** Most output kept per stream of a background process; older bytes are dropped. */
const MAX_KEPT_OUTPUT = 64 * 1024;

/** Options for {@linkcode runInNetns}. */
export interface RunInNetnsOptions {
  /** Text or bytes written to the command's stdin (stdin is closed after it); default: no stdin. */
  stdin?: string | Uint8Array;
  /** Kill the command with SIGKILL after this many milliseconds (default 30 000); see `timedOut`. */
  timeoutMs?: number;
  /** Extra environment variables on top of this process's environment. */
  env?: Record<string, string>;
  /** Working directory of the command. */
  cwd?: string;
}

/** Outcome of {@linkcode runInNetns}. */
export interface NetnsRunResult {
  /**
   * Exit code. nsenter itself exits 1 when it cannot enter the namespaces (its stderr starts with
   * `nsenter: `), 126/127 when the command cannot be executed; 128+n after a signal.
   */
  code: number;
  /** The signal that ended the command, if one did. */
  signal: Deno.Signal | null;
  /** Standard output, decoded as UTF-8. */
  stdout: string;
  /** Standard error, decoded as UTF-8. */
  stderr: string;
  /** True when the command was killed because `timeoutMs` ran out. */
  timedOut: boolean;
}

/**
 * Returns the argv (program first) that runs `args` in the network namespace of process `pid`:
 * - `pid` in our own network namespace (a host-network pod, or one of our processes): `args` unchanged. nsenter
 *   could not do it: a host-network infra lives in Podman's user namespace, which does not own the host's network
 *   namespace, so `-U -n` fails with EPERM there;
 * - otherwise `nsenter -t PID -U --preserve-credentials -n -- ARGS…`, without `-U --preserve-credentials` when
 *   `pid` shares our user namespace (entering it again fails with EINVAL).
 *
 * Throws when `pid` does not exist.
 */
export function netnsArgv(pid: number, args: string[]): string[] {
  if (!Number.isInteger(pid) || pid <= 0) throw new RangeError(`Not a process id: ${pid}`);
  if (args.length === 0) throw new RangeError("No command given");
  const ns = (of: string | number, kind: string) => {
    try {
      return Deno.readLinkSync(`/proc/${of}/ns/${kind}`);
    } catch (err) {
      throw new Error(`Cannot reach the namespaces of process ${of}: ${(err as Error).message}`, { cause: err });
    }
  };
  if (ns(pid, "net") === ns("self", "net")) return [...args];
  const userns = ns(pid, "user") === ns("self", "user") ? [] : ["-U", "--preserve-credentials"];
  return [NSENTER, "-t", String(pid), ...userns, "-n", "--", ...args];
}

/** Splits {@linkcode netnsArgv} into what `Deno.Command` takes. */
function netnsCommand(pid: number, args: string[]): { program: string; args: string[] } {
  const [program, ...rest] = netnsArgv(pid, args);
  return { program: program!, args: rest };
}

/**
 * Runs `args` to completion inside the network namespace of process `pid` and returns its exit code and output.
 * Never throws for a non-zero exit (check `code`); throws only when nsenter cannot be started or `pid` is gone.
 */
export async function runInNetns(
  pid: number,
  args: string[],
  options: RunInNetnsOptions = {},
): Promise<NetnsRunResult> {
  const { stdin, timeoutMs = 30_000, env, cwd } = options;
  const command = netnsCommand(pid, args);
  const child = new Deno.Command(command.program, {
    args: command.args,
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
    ...(env === undefined ? {} : { env }),
    ...(cwd === undefined ? {} : { cwd }),
  }).spawn();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      child.kill("SIGKILL");
    } catch {
      // Exited in the meantime.
    }
  }, timeoutMs);
  try {
    if (stdin !== undefined) {
      const writer = child.stdin.getWriter();
      // The command may exit without reading its input: a broken pipe here is not an error of ours.
      await writer.write(typeof stdin === "string" ? new TextEncoder().encode(stdin) : stdin).catch(() => {});
      await writer.close().catch(() => {});
    }
    const out = await child.output();
    const decoder = new TextDecoder();
    return {
      code: out.code,
      signal: out.signal,
      stdout: decoder.decode(out.stdout),
      stderr: decoder.decode(out.stderr),
      timedOut,
    };
  } finally {
    clearTimeout(timer);
  }
}

/** A background command started by {@linkcode startInNetns}. */
export interface NetnsProcess extends AsyncDisposable {
  /** Process id of the command itself (nsenter `exec`s it, so this is not a wrapper's pid). */
  readonly pid: number;
  /** Settles when the command has exited and been reaped. */
  readonly exited: Promise<Deno.CommandStatus>;
  /** True once {@linkcode NetnsProcess.exited} has settled. */
  readonly hasExited: boolean;
  /** Output so far (the last 64 KiB of each stream), for assertions and error messages. */
  output(): { stdout: string; stderr: string };
  /** Sends a signal (default SIGTERM) without waiting; does nothing once the command has exited. */
  kill(signal?: Deno.Signal): void;
  /**
   * Sends SIGTERM, waits up to `graceMs` (default 5 000), then SIGKILL, and resolves once the command is reaped.
   * Idempotent; `await using` calls it.
   */
  stop(graceMs?: number): Promise<Deno.CommandStatus>;
}

const live = new Set<NetnsProcess>();
globalThis.addEventListener("unload", () => {
  // A test that forgot to stop its server must not leave it running inside some pod.
  for (const proc of live) proc.kill("SIGKILL");
});

/**
 * Starts `args` in the background inside the network namespace of process `pid`, stdin closed, output kept in
 * memory. Returns at once: the command may still fail right after (see `exited`, `output()`).
 */
export function startInNetns(
  pid: number,
  args: string[],
  options: { env?: Record<string, string>; cwd?: string } = {},
): NetnsProcess {
  const command = netnsCommand(pid, args);
  const child = new Deno.Command(command.program, {
    args: command.args,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    ...(options.env === undefined ? {} : { env: options.env }),
    ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
  }).spawn();
  const stdout = drain(child.stdout);
  const stderr = drain(child.stderr);
  let hasExited = false;
  const exited = child.status.then(async (status) => {
    // Let the readers take what is left in the pipes before callers look at output().
    await Promise.all([stdout.done, stderr.done]);
    return status;
  }).finally(() => {
    hasExited = true;
    live.delete(proc);
  });
  const kill = (signal: Deno.Signal = "SIGTERM") => {
    if (hasExited) return;
    try {
      child.kill(signal);
    } catch {
      // Exited but not reaped yet.
    }
  };
  // `child.pid` is the command itself (nsenter exec'd it), so once it is reaped nothing is left running.
  const stop = (graceMs = 5_000) => stopGracefully(kill, exited, graceMs);
  const proc: NetnsProcess = {
    pid: child.pid,
    exited,
    get hasExited() {
      return hasExited;
    },
    output: () => ({ stdout: stdout.text(), stderr: stderr.text() }),
    kill,
    stop,
    [Symbol.asyncDispose]: async () => {
      await stop();
    },
  };
  live.add(proc);
  return proc;
}

/** Reads a stream to its end in the background, keeping its last {@linkcode MAX_KEPT_OUTPUT} bytes. */
function drain(stream: ReadableStream<Uint8Array>): { done: Promise<void>; text(): string } {
  let kept = new Uint8Array(0);
  const done = (async () => {
    try {
      for await (const chunk of stream) {
        const joined = new Uint8Array(kept.length + chunk.length);
        joined.set(kept);
        joined.set(chunk, kept.length);
        kept = joined.length > MAX_KEPT_OUTPUT ? joined.slice(joined.length - MAX_KEPT_OUTPUT) : joined;
      }
    } catch {
      // The process was killed: keep what was read.
    }
  })();
  return { done, text: () => new TextDecoder().decode(kept) };
}

/** Options for {@linkcode httpGetInNetns}. */
export interface HttpGetInNetnsOptions {
  /** Give up (kill wget and throw) after this many milliseconds (default 10 000). */
  timeoutMs?: number;
}

/**
 * Fetches `url` with busybox wget from inside the network namespace of process `pid` and returns the body.
 * Throws on a connection error, an HTTP error status (wget: "server returned error: HTTP/1.1 404 Not Found") or
 * when `timeoutMs` runs out. Proxies are off (`-Y off`).
 */
export async function httpGetInNetns(
  pid: number,
  url: string,
  options: HttpGetInNetnsOptions = {},
): Promise<string> {
  const { timeoutMs = 10_000 } = options;
  // No `-T`: this busybox build segfaults on it. The timeout is enforced by killing wget.
  const result = await runInNetns(pid, [BUSYBOX, "wget", "-q", "-Y", "off", "-O", "-", url], { timeoutMs });
  if (result.timedOut) throw new Error(`GET ${url} from the netns of pid ${pid} timed out after ${timeoutMs} ms`);
  if (result.code !== 0) {
    const why = result.stderr.trim() || (result.signal === null ? `exit ${result.code}` : `signal ${result.signal}`);
    throw new Error(`GET ${url} from the netns of pid ${pid} failed: ${why}`);
  }
  return result.stdout;
}

/** Options for {@linkcode serveHttpInNetns}. */
export interface ServeHttpInNetnsOptions {
  /** Address to bind, e.g. "127.0.0.1"; default: all addresses of the namespace. */
  address?: string;
  /** How long to wait for the server to answer before giving up (default 10 000 ms). */
  readyTimeoutMs?: number;
}

/** A busybox httpd started by {@linkcode serveHttpInNetns}. */
export interface NetnsHttpServer extends AsyncDisposable {
  /** Pid of the httpd process. */
  readonly pid: number;
  /** Port it listens on, inside the namespace. */
  readonly port: number;
  /** Document root (holds `index.html`); removed by `stop()`. */
  readonly dir: string;
  /** The underlying process, for `exited` and `output()`. */
  readonly process: NetnsProcess;
  /** Kills httpd (SIGTERM, then SIGKILL), waits for it and removes `dir`. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Serves `body` as `/` (and `/index.html`) on `port` inside the network namespace of process `pid`, with
 * `busybox httpd -f -p [ADDRESS:]PORT -h DIR`. Resolves once the server answers from inside that namespace;
 * throws (after cleaning up) when it exits first, e.g. "bind: Address in use", or does not answer in time.
 */
export async function serveHttpInNetns(
  pid: number,
  port: number,
  body: string,
  options: ServeHttpInNetnsOptions = {},
): Promise<NetnsHttpServer> {
  if (!Number.isInteger(port) || port <= 0 || port > 65535) throw new RangeError(`Not a port: ${port}`);
  const { address, readyTimeoutMs = 10_000 } = options;
  const dir = await Deno.makeTempDir({ prefix: "cri-podman-httpd-" });
  let proc: NetnsProcess | undefined;
  const stop = async () => {
    await proc?.stop();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  };
  try {
    await Deno.writeTextFile(`${dir}/index.html`, body);
    const listen = address === undefined ? String(port) : `${address}:${port}`;
    proc = startInNetns(pid, [BUSYBOX, "httpd", "-f", "-p", listen, "-h", dir]);
    const server = proc;
    const probeHost = address === undefined || address === "0.0.0.0" ? "127.0.0.1" : address;
    const probeUrl = `http://${probeHost.includes(":") ? `[${probeHost}]` : probeHost}:${port}/`;
    const deadline = Date.now() + readyTimeoutMs;
    for (;;) {
      if (server.hasExited) {
        const status = await server.exited;
        throw new Error(
          `busybox httpd on port ${port} in the netns of pid ${pid} exited (code ${status.code}): ` +
            server.output().stderr.trim(),
        );
      }
      try {
        // Compare the body: with the port taken, another server could answer while ours fails to bind.
        const got = await httpGetInNetns(pid, probeUrl, { timeoutMs: 2_000 });
        if (got === body && !server.hasExited) break;
        throw new Error(`unexpected answer from ${probeUrl}: ${JSON.stringify(got.slice(0, 80))}`);
      } catch (err) {
        if (Date.now() >= deadline) {
          throw new Error(`busybox httpd on port ${port} in the netns of pid ${pid} did not answer in time`, {
            cause: err,
          });
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    return { pid: server.pid, port, dir, process: server, stop, [Symbol.asyncDispose]: stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
