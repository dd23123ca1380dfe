/**
 * Runs a command in a running container to completion (what CRI ExecSync needs): libpod exec create, a hijacked
 * exec start over its own connection, Docker-style stream demultiplexing, output caps, and a timeout that kills
 * the command and everything it started.
 *
 * Podman 4.3.1 facts this relies on (measured on the rootless test host):
 * - `POST /containers/{id}/exec` answers 404 for an unknown container and **500** with
 *   `cause: "container state improper"` for one that is not running (not 409).
 * - `POST /exec/{id}/start` with `Upgrade: tcp` answers `101 UPGRADED` and then streams 8-byte-framed output
 *   (type 1 stdout, 2 stderr) when `Tty` is false, although the content type says `raw-stream`. Errors after the
 *   hijack arrive as `Error: …` on the stderr stream. Half-closing our side is stdin EOF.
 * - Closing the connection does not stop the command; `GET /exec/{id}/json` gives its host `Pid` while it runs.
 *   runc makes the exec'd process a session leader, so its children share its session id.
 * - Rootless: our uid owns the user namespace of the containers, which gives it CAP_KILL over every process in
 *   them (subuid-owned ones included), so a plain kill(2) works; `nsenter -U` is only a fallback.
 * - Each exec session keeps its conmon for `engine.exit_command_delay` (300 s) after it ends, and is removed when
 *   that delay expires; with a delay of 0 the session is gone before its exit code can be read.
 * @module
 */
import type { Duplex } from "node:stream";
import { CriError } from "../errors.ts";
import { killProcessTree } from "../host/processes.ts";
import { PodmanHttp } from "./client.ts";
import { HijackedStream } from "./hijacked.ts";
import type { ExecPort } from "./port.ts";
import { errorForStatus, errorForTransport, isPodmanFailure, PodmanError } from "./errors.ts";

/** Default cap on each of stdout and stderr. */
export const DEFAULT_MAX_OUTPUT_BYTES = 16 * 1024 * 1024;

/** Options of {@link PodmanExec.run}. */
export interface ExecRunOptions {
  /** Kill the command (and its children) after this long and resolve with `timedOut: true`; 0 or absent: none. */
  timeoutMs?: number | undefined;
  /** Cap on each of stdout and stderr; output past it is read and dropped, and `truncated` is set. */
  maxOutputBytes?: number | undefined;
  /** Bytes for the command's stdin, followed by EOF. Without it the command gets no stdin. */
  stdin?: Uint8Array | undefined;
  /** Only `false`: a TTY merges stdout and stderr, which ExecSync must keep apart. */
  tty?: false | undefined;
  /** Cancels the call: the command is killed and the call rejects (Canceled, or DeadlineExceeded on a timeout). */
  signal?: AbortSignal | undefined;
  /** Extra environment, `NAME=value` each. */
  env?: readonly string[] | undefined;
  /** User (name or uid[:gid]) to run as, instead of the container's. */
  user?: string | undefined;
  /** Working directory, instead of the container's. */
  workDir?: string | undefined;
}

/** What a finished (or timed-out) command left behind. */
export interface ExecRunResult {
  /** The command's exit code; a killed command reports 128 + signal (137 after a timeout). */
  exitCode: number;
  stdout: Uint8Array;
  stderr: Uint8Array;
  /** The command ran past `timeoutMs` and was killed. */
  timedOut: boolean;
  /** Stdout or stderr went past `maxOutputBytes` and was cut there. */
  truncated: boolean;
}

/** Options of {@link PodmanExec.open}. */
export interface ExecOpenOptions {
  tty: boolean;
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  /** The terminal size the command starts with (TTY sessions); Podman refuses a resize until the command runs. */
  size?: { width: number; height: number } | undefined;
  /** Aborts the start (not the command: see {@link ExecStream.kill}). */
  signal?: AbortSignal | undefined;
}

/** A running exec session whose streams the caller drives. */
export interface ExecStream {
  readonly execId: string;
  /** What the command writes (raw with a TTY, 8-byte-framed stdout/stderr without). */
  output(): AsyncIterable<Uint8Array>;
  /** Writes to the command's stdin (back-pressure). */
  write(chunk: Uint8Array): Promise<void>;
  /** Ends the command's stdin. */
  endInput(): void;
  /** Sets the terminal size (TTY sessions). */
  resize(size: { width: number; height: number }): Promise<void>;
  /** The exit code, once Podman recorded it (after the output ended). */
  exitCode(): Promise<number>;
  /** Kills the command and everything it started. */
  kill(): Promise<void>;
  /** Drops the connection. */
  close(): Promise<void>;
}

/** The slice of `GET /exec/{id}/json` we read. */
interface ExecInspect {
  Running: boolean;
  Pid: number;
  ExitCode: number;
}

/** How long to wait for the stream to end once the command was killed. */
const DRAIN_AFTER_KILL_MS = 5_000;
/** How long a terminal size waits for its exec session's process to start. */
const RESIZE_WAIT_MS = 3_000;
/** How long to wait for Podman to record the exit after the stream ended. */
const EXIT_WAIT_MS = 5_000;

/** Runs commands in containers over one Podman socket. */
export class PodmanExec implements ExecPort {
  readonly #http: PodmanHttp;
  readonly #ownsHttp: boolean;

  /**
   * Uses `http` for the short requests (create, inspect) or opens a pool on the socket path; each exec start gets
   * a connection of its own, since the upgrade takes its socket out of any pool.
   */
  constructor(socketOrHttp: string | PodmanHttp) {
    this.#ownsHttp = typeof socketOrHttp === "string";
    this.#http = typeof socketOrHttp === "string" ? new PodmanHttp(socketOrHttp) : socketOrHttp;
  }

  /**
   * Runs `argv` in container `containerId` and collects its output and exit code. Rejects with NotFound for an
   * unknown container, FailedPrecondition for one that is not running, Unavailable when Podman is unreachable.
   */
  async run(containerId: string, argv: readonly string[], opts: ExecRunOptions = {}): Promise<ExecRunResult> {
    const what = `Cannot exec in container "${containerId}"`;
    if (argv.length === 0) throw new CriError("InvalidArgument", `${what}: the command is empty`);
    const { signal } = opts;
    const maxOutputBytes = opts.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES;
    const execId = await this.#create(what, containerId, argv, opts.stdin !== undefined, opts);

    // The deadline counts from the moment the session exists: the command cannot run before.
    const deadline = opts.timeoutMs ? AbortSignal.timeout(opts.timeoutMs) : undefined;
    const stop = anySignal(signal, deadline);
    const stdout = new OutputSink(maxOutputBytes);
    const stderr = new OutputSink(maxOutputBytes);
    const demux = new FrameDemuxer((stream, chunk) => (stream === 1 ? stdout : stderr).push(chunk));

    let socket: Duplex | undefined;
    let close: (() => Promise<void>) | undefined;
    let ended: Promise<void> | undefined;
    let stopped = false;
    try {
      try {
        const upgraded = await this.#http.upgrade(what, `/exec/${encodeURIComponent(execId)}/start`, {
          Detach: false,
          Tty: false,
        }, { signal: stop });
        socket = upgraded.socket;
        close = upgraded.close;
        ended = pump(upgraded.socket, demux, opts.stdin);
        stopped = (await raceAbort(ended, stop)) === "aborted";
      } catch (err) {
        // Aborted while starting: the session may have started all the same, the kill below finds out.
        if (!stop?.aborted) throw await this.#startError(what, execId, err);
        stopped = true;
      }
      if (stopped) {
        await this.#kill(execId);
        // Let the output written before the kill arrive; Podman closes the stream once conmon saw the exit.
        if (ended) await withTimeout(ended, DRAIN_AFTER_KILL_MS);
      }
    } finally {
      socket?.destroy();
      await close?.();
    }

    // The caller's own cancellation wins over our deadline: the call did not complete.
    if (signal?.aborted) throw errorForTransport(what, signal.reason);
    const exitCode = await this.#exitCode(what, execId, signal);
    return {
      exitCode,
      stdout: stdout.bytes(),
      stderr: stderr.bytes(),
      timedOut: stopped && deadline?.aborted === true,
      truncated: stdout.truncated || stderr.truncated,
    };
  }

  /**
   * Starts `argv` in container `containerId` with the streams the caller drives (the streaming server's exec): a TTY
   * or not, stdin or not. Rejects as {@link run} does when the container is unknown or does not run.
   */
  async open(containerId: string, argv: readonly string[], opts: ExecOpenOptions): Promise<ExecStream> {
    const what = `Cannot exec in container "${containerId}"`;
    if (argv.length === 0) throw new CriError("InvalidArgument", `${what}: the command is empty`);
    const execId = await this.#create(what, containerId, argv, opts.stdin, {
      tty: opts.tty,
      stdout: opts.stdout,
      stderr: opts.stderr,
      signal: opts.signal,
    });
    let upgraded;
    try {
      upgraded = await this.#http.upgrade(what, `/exec/${encodeURIComponent(execId)}/start`, {
        Detach: false,
        Tty: opts.tty,
        ...(opts.tty && opts.size ? { h: opts.size.height, w: opts.size.width } : {}),
      }, { signal: opts.signal });
    } catch (err) {
      throw await this.#startError(what, execId, err);
    }
    const stream = new HijackedStream(upgraded.socket, upgraded.close);
    return Object.assign(stream, {
      execId,
      resize: (size: { width: number; height: number }) => this.#resize(execId, size),
      exitCode: () => this.#exitCode(what, execId),
      kill: () => this.#kill(execId),
    });
  }

  /** Closes the client if this object opened it (its close ends open exec connections too). */
  async close(): Promise<void> {
    if (this.#ownsHttp) await this.#http.close();
  }

  async #create(
    what: string,
    containerId: string,
    argv: readonly string[],
    attachStdin: boolean,
    opts: Pick<ExecRunOptions, "env" | "user" | "workDir" | "signal"> & {
      tty?: boolean | undefined;
      stdout?: boolean | undefined;
      stderr?: boolean | undefined;
    },
  ): Promise<string> {
    const body = {
      Cmd: argv,
      AttachStdin: attachStdin,
      AttachStdout: opts.stdout ?? true,
      AttachStderr: opts.stderr ?? true,
      Tty: opts.tty ?? false,
      ...(opts.env?.length ? { Env: opts.env } : {}),
      ...(opts.user ? { User: opts.user } : {}),
      ...(opts.workDir ? { WorkingDir: opts.workDir } : {}),
    };
    const { status, text } = await this.#http.text(
      what,
      "POST",
      `/containers/${encodeURIComponent(containerId)}/exec`,
      {
        body,
        signal: opts.signal,
      },
    );
    if (status === 201) {
      const id = (parseJson(text) as { Id?: unknown } | undefined)?.Id;
      if (typeof id === "string" && id) return id;
      throw new PodmanError("unknown", `${what}: Podman answered 201 without an exec session id`);
    }
    // Podman 4.3 answers 500 (not 409) for a container that exists but does not run: reason not-running.
    throw errorForStatus(what, status, text);
  }

  /** Explains a failed upgrade: undici reports any non-101 answer as a bare "bad upgrade". */
  async #startError(what: string, execId: string, err: unknown): Promise<CriError> {
    const classified = errorForTransport(what, err);
    if (classified.code === "Unavailable") return classified;
    try {
      await this.#inspect(what, execId);
    } catch (inspectErr) {
      // The session vanished (its container was removed meanwhile): say so rather than "bad upgrade".
      if (isPodmanFailure(inspectErr, "not-found")) return inspectErr;
    }
    return classified;
  }

  async #inspect(what: string, execId: string, signal?: AbortSignal): Promise<ExecInspect> {
    const res = await this.#http.json<ExecInspect>(what, "GET", `/exec/${encodeURIComponent(execId)}/json`, {
      signal,
    });
    return res.body;
  }

  /**
   * Sets an exec session's terminal size. Podman answers 101 to the start before the process runs and refuses a
   * resize until it does ("exec session state improper"), while clients send their size at once: a session that has
   * not started yet is waited for (up to {@link RESIZE_WAIT_MS}); one that has ended is left alone.
   */
  async #resize(execId: string, size: { width: number; height: number }): Promise<void> {
    const what = `Cannot resize exec session "${execId}"`;
    const until = Date.now() + RESIZE_WAIT_MS;
    for (let wait = 2;; wait = Math.min(wait * 2, 50)) {
      try {
        await this.#http.json(what, "POST", `/exec/${encodeURIComponent(execId)}/resize`, {
          query: { h: size.height, w: size.width },
          okStatuses: [201],
        });
        return;
      } catch (err) {
        const info = await this.#inspect(what, execId);
        const notStartedYet = !info.Running && info.Pid === 0;
        if (!notStartedYet || Date.now() >= until) throw err;
      }
      await sleep(wait);
    }
  }

  /** Kills the session's process and everything it started; a session that never started or has ended is left. */
  async #kill(execId: string): Promise<void> {
    const what = `Cannot kill exec session "${execId}"`;
    // An aborted start may still be starting the process: give it a moment to show a pid.
    const until = Date.now() + 1_000;
    for (let wait = 5;; wait = Math.min(wait * 2, 100)) {
      const info = await this.#inspect(what, execId);
      if (info.Pid > 0) {
        await killProcessTree(info.Pid);
        return;
      }
      if (Date.now() >= until) return;
      await sleep(wait);
    }
  }

  /** Reads the exit code once Podman has recorded it (the stream can end a moment before). */
  async #exitCode(what: string, execId: string, signal?: AbortSignal): Promise<number> {
    const until = Date.now() + EXIT_WAIT_MS;
    for (let wait = 2;; wait = Math.min(wait * 2, 100)) {
      let info: ExecInspect;
      try {
        info = await this.#inspect(what, execId, signal);
      } catch (err) {
        if (isPodmanFailure(err, "not-found")) {
          throw new PodmanError(
            "unknown",
            `${what}: Podman removed exec session "${execId}" before its exit code was read ` +
              "(engine.exit_command_delay must not be 0)",
            { cause: err },
          );
        }
        throw err;
      }
      if (!info.Running) return info.ExitCode;
      if (Date.now() >= until) {
        throw new PodmanError("unknown", `${what}: exec session "${execId}" still runs after its output ended`);
      }
      await sleep(wait);
    }
  }
}

/**
 * Splits Docker's multiplexed attach stream: frames of an 8-byte header (stream type, 3 zero bytes, big-endian
 * uint32 length) and a payload, cut anywhere by the transport.
 */
export class FrameDemuxer {
  readonly #onData: (stream: number, chunk: Uint8Array) => void;
  readonly #header = new Uint8Array(8);
  #headerBytes = 0;
  #stream = 0;
  #remaining = 0;

  /** Calls `onData(streamType, payloadPiece)` for each payload piece. */
  constructor(onData: (stream: number, chunk: Uint8Array) => void) {
    this.#onData = onData;
  }

  /** Feeds the next bytes of the stream. */
  push(chunk: Uint8Array): void {
    let offset = 0;
    while (offset < chunk.length) {
      if (this.#remaining === 0) {
        const take = Math.min(8 - this.#headerBytes, chunk.length - offset);
        this.#header.set(chunk.subarray(offset, offset + take), this.#headerBytes);
        this.#headerBytes += take;
        offset += take;
        if (this.#headerBytes < 8) return;
        this.#headerBytes = 0;
        this.#stream = this.#header[0]!;
        const h = this.#header;
        this.#remaining = ((h[4]! << 24) >>> 0) + (h[5]! << 16) + (h[6]! << 8) + h[7]!;
        continue;
      }
      const take = Math.min(this.#remaining, chunk.length - offset);
      this.#onData(this.#stream, chunk.subarray(offset, offset + take));
      this.#remaining -= take;
      offset += take;
    }
  }

  /** True when the stream stopped inside a frame (a truncated stream). */
  get incomplete(): boolean {
    return this.#headerBytes > 0 || this.#remaining > 0;
  }
}

/** Collects up to `cap` bytes, counting (and dropping) the rest. */
export class OutputSink {
  readonly #cap: number;
  readonly #chunks: Uint8Array[] = [];
  #kept = 0;
  /** Bytes were dropped at the cap. */
  truncated = false;

  /** Keeps at most `cap` bytes. */
  constructor(cap: number) {
    this.#cap = cap;
  }

  /** Adds bytes (copied: the transport may reuse its buffers). */
  push(chunk: Uint8Array): void {
    const room = this.#cap - this.#kept;
    if (chunk.length > room) this.truncated = true;
    const take = Math.min(room, chunk.length);
    if (take <= 0) return;
    this.#chunks.push(chunk.slice(0, take));
    this.#kept += take;
  }

  /** The kept bytes as one array. */
  bytes(): Uint8Array {
    const out = new Uint8Array(this.#kept);
    let offset = 0;
    for (const c of this.#chunks) {
      out.set(c, offset);
      offset += c.length;
    }
    return out;
  }
}

/** Feeds the socket into the demuxer and writes stdin; settles when the connection has closed. */
function pump(socket: Duplex, demux: FrameDemuxer, stdin: Uint8Array | undefined): Promise<void> {
  return new Promise((resolve) => {
    // An unhandled socket error would abort the process; EPIPE on stdin (the command did not read it) is normal.
    socket.on("error", () => {});
    socket.on("data", (chunk: Uint8Array) => demux.push(chunk));
    socket.on("close", () => resolve());
    if (stdin !== undefined) {
      if (stdin.length > 0) socket.write(stdin);
      // Half-close: Podman forwards our EOF as the command's stdin EOF.
      socket.end();
    }
    socket.resume();
  });
}

function anySignal(...signals: (AbortSignal | undefined)[]): AbortSignal | undefined {
  const present = signals.filter((s): s is AbortSignal => s !== undefined);
  if (present.length <= 1) return present[0];
  return AbortSignal.any(present);
}

/** Settles with "done" when `promise` settles, or "aborted" when `signal` fires first. */
function raceAbort(promise: Promise<void>, signal: AbortSignal | undefined): Promise<"done" | "aborted"> {
  if (!signal) return promise.then(() => "done");
  if (signal.aborted) return Promise.resolve("aborted");
  return new Promise((resolve) => {
    const onAbort = () => resolve("aborted");
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(() => {
      signal.removeEventListener("abort", onAbort);
      resolve("done");
    });
  });
}

async function withTimeout(promise: Promise<void>, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([promise, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
