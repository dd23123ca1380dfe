/**
 * A private libpod REST service for a test: `podman system service --time=0 unix://<socket>` run as the current
 * (unprivileged) user on a socket of its own. It shares image and container storage with every other Podman
 * invocation of that user, so tests must name what they create uniquely and remove it.
 * @module
 */

import { type BackgroundProcess, spawnBackground } from "./_process.ts";
import { makeTempDir, waitFor } from "./temp.ts";

/** The libpod API version prefix the harness speaks (Podman 4.3 accepts 4.0.0 and later). */
export const LIBPOD_API_PREFIX = "/v4.0.0/libpod";

/** Options for {@linkcode startPodmanService}. */
export interface PodmanServiceOptions {
  /** Socket to listen on; default: `podman.sock` in a fresh temp dir. Must not be served by anything else. */
  socketPath?: string;
  /** Extra environment for the service, e.g. `CONTAINERS_REGISTRIES_CONF`. */
  env?: Record<string, string>;
  /** Podman `--log-level` (default "warn"). */
  logLevel?: "debug" | "info" | "warn" | "error";
  /** How long to wait for `_ping` to answer (default 30 000 ms). */
  startTimeoutMs?: number;
}

/** A reply from {@linkcode podmanRequest}, body read completely. */
export interface PodmanReply {
  /** HTTP status code. */
  status: number;
  /** Response headers. */
  headers: Headers;
  /** Response body as text. */
  body: string;
}

/** A running Podman REST service started by {@linkcode startPodmanService}. */
export interface PodmanService extends AsyncDisposable {
  /** Absolute path of the unix socket. */
  readonly socketPath: string;
  /** The socket as a Podman URL, `unix://<socketPath>`. */
  readonly url: string;
  /** Pid of the current `podman system service` process (changes on restart). */
  readonly pid: number;
  /** File with the service's output. */
  readonly logPath: string;
  /** Sends a signal to the service process (default SIGTERM) without waiting. */
  kill(signal?: Deno.Signal): void;
  /** Settles when the current service process has exited. */
  exited(): Promise<Deno.CommandStatus>;
  /**
   * Stops the service (SIGTERM, wait up to `graceMs`, then SIGKILL) and removes its socket and temp dir, log
   * included. Idempotent; `restart()` works after it.
   */
  stop(graceMs?: number): Promise<void>;
  /** Stops the service if it runs, then starts a new one on the same socket and waits until it answers. */
  restart(): Promise<void>;
  /** Sends one HTTP request to the service, e.g. `request("GET", "/v4.0.0/libpod/_ping")`. */
  request(
    method: string,
    path: string,
    init?: { body?: string; headers?: Record<string, string> },
  ): Promise<PodmanReply>;
}

/** Sends one HTTP request over a unix socket and reads the whole reply. */
export async function podmanRequest(
  socketPath: string,
  method: string,
  path: string,
  init: { body?: string; headers?: Record<string, string>; signal?: AbortSignal } = {},
): Promise<PodmanReply> {
  const client = Deno.createHttpClient({ proxy: { transport: "unix", path: socketPath } });
  try {
    const res = await fetch(`http://d${path}`, {
      method,
      client,
      ...(init.body === undefined ? {} : { body: init.body }),
      ...(init.headers === undefined ? {} : { headers: init.headers }),
      ...(init.signal === undefined ? {} : { signal: init.signal }),
    });
    return { status: res.status, headers: res.headers, body: await res.text() };
  } finally {
    client.close();
  }
}

/** Tells whether a libpod service answers `_ping` with OK on this socket. */
export async function pingPodman(socketPath: string): Promise<boolean> {
  try {
    const reply = await podmanRequest(socketPath, "GET", `${LIBPOD_API_PREFIX}/_ping`, {
      signal: AbortSignal.timeout(2_000),
    });
    return reply.status === 200 && reply.body === "OK";
  } catch {
    return false;
  }
}

/**
 * Starts `podman system service --time=0` on a private socket and waits until `GET /v4.0.0/libpod/_ping`
 * answers OK. Stop it with `stop()` or `await using`.
 */
export async function startPodmanService(options: PodmanServiceOptions = {}): Promise<PodmanService> {
  const dir = await makeTempDir("podman");
  const socketPath = options.socketPath ?? `${dir.path}/podman.sock`;
  const logPath = `${dir.path}/service.log`;
  const startTimeoutMs = options.startTimeoutMs ?? 30_000;
  if (await pingPodman(socketPath)) {
    await dir.cleanup();
    throw new Error(`Cannot start a Podman service on "${socketPath}": another service already answers there`);
  }

  let proc: BackgroundProcess | undefined;
  const launch = async () => {
    await Deno.mkdir(dir.path, { recursive: true });
    const socketDir = socketPath.slice(0, socketPath.lastIndexOf("/")) || "/";
    await Deno.mkdir(socketDir, { recursive: true });
    // A socket left behind by a killed service would only make connections fail with ECONNREFUSED.
    await Deno.remove(socketPath).catch(() => {});
    const current = spawnBackground(
      "podman",
      [`--log-level=${options.logLevel ?? "warn"}`, "system", "service", "--time=0", `unix://${socketPath}`],
      { logPath, ...(options.env === undefined ? {} : { env: options.env }) },
    );
    proc = current;
    try {
      const outcome = await waitFor(async () => {
        if (current.hasExited) return "exited";
        return await pingPodman(socketPath) && "ready";
      }, { timeoutMs: startTimeoutMs, intervalMs: 50, what: `Podman service on "${socketPath}"` });
      if (outcome === "exited") throw new Error(`Podman service on "${socketPath}" exited while starting`);
    } catch (err) {
      await current.stop(2_000);
      throw new Error(`${(err as Error).message}\n--- podman service log ---\n${current.logTail()}`, { cause: err });
    }
  };
  const stop = async (graceMs?: number) => {
    if (proc !== undefined) await proc.stop(graceMs);
    // The service removes its socket on SIGTERM but not on SIGKILL.
    await Deno.remove(socketPath).catch(() => {});
    await dir.cleanup();
  };

  try {
    await launch();
  } catch (err) {
    await stop();
    throw err;
  }
  const current = () => {
    if (proc === undefined) throw new Error("Podman service never started");
    return proc;
  };
  return {
    socketPath,
    url: `unix://${socketPath}`,
    get pid() {
      return current().pid;
    },
    logPath,
    kill: (signal) => current().kill(signal),
    exited: () => current().exited,
    stop,
    async restart() {
      await stop();
      await launch();
    },
    request: (method, path, init = {}) => podmanRequest(socketPath, method, path, init),
    [Symbol.asyncDispose]: () => stop(),
  };
}
