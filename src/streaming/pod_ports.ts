/**
 * Connections to ports inside a pod's network namespace, for PortForward, with nothing on the host but util-linux's
 * nsenter and nothing in the image. One helper process per session runs inside the namespace (`nsenter -t <infra pid>
 * -U -n`); it listens on a unix socket in a private directory of ours (nsenter leaves the mount namespace alone, so
 * the path is the same on both sides), and for each connection on that socket reads the port, connects to
 * localhost:PORT inside the pod and relays the bytes both ways.
 *
 * Why not a netns-bound abstract socket, or one process per connection: an abstract unix socket belongs to the
 * network namespace it was bound in, so we could not reach it; a process per connection costs a start-up (~20 ms)
 * on every connection instead of once per session.
 * @module
 */
import { Buffer } from "node:buffer";
import { MAX_SOCKET_PATH_BYTES } from "../config/rules.ts";
import { ensurePrivateDirectory } from "../host/runtime_dir.ts";
import {
  currentRuntime,
  dataModuleUrl,
  mainModuleSource,
  type RuntimeMode,
  selfProgramArgv,
} from "../host/self_program.ts";
import type { Logger } from "../observability/log.ts";

/** The hidden command of a compiled cri-podman that runs {@linkcode runPortForwardHelper} (see mod.ts). */
export const PORT_FORWARD_HELPER_COMMAND = "__portforward-helper";

/** One connection to a port inside the pod, as the relay sees it (the unix socket to the helper, or a fake). */
export interface PodConnection {
  /** Reads into `buffer`; resolves to the byte count, or null once the pod side has sent everything (EOF). */
  read(buffer: Uint8Array): Promise<number | null>;
  /** Writes all of `chunk`; resolves once the kernel took it (back-pressure: await it before writing more). */
  write(chunk: Uint8Array): Promise<void>;
  /** Tells the pod side that no more bytes come (a TCP half-close inside the pod); reading goes on. */
  closeWrite(): Promise<void>;
  /** Closes both directions; pending reads and writes fail. Idempotent. */
  close(): void;
}

/** The outcome of {@linkcode PodPortForwarder.connect}: a connection, or a message for the client. */
export type PodConnectResult =
  | { ok: true; connection: PodConnection }
  | { ok: false; message: string };

/** Connects to ports inside one pod's network namespace until closed. */
export interface PodPortForwarder {
  /**
   * Connects to localhost:`port` inside the pod (127.0.0.1, then [::1]). A failure (connection refused, the helper
   * gone, `signal` aborted) is a message for the client, never a rejection.
   */
  connect(port: number, signal?: AbortSignal): Promise<PodConnectResult>;
  /** Why the forwarder cannot connect any more (its helper exited), or undefined while it can. */
  readonly failure: string | undefined;
  /** Ends the helper, removes its socket and closes every connection it handed out; idempotent. */
  close(): Promise<void>;
}

/** Options of {@linkcode openPodPortForwarder}. */
export interface PodPortForwarderOptions {
  /** A process in the pod's network namespace: the pod's infra container's pid. */
  infraPid: number;
  /** A private directory for the helper's socket (e.g. `$XDG_RUNTIME_DIR/cri-podman/portforward`), made if missing. */
  socketDir: string;
  /** Closes the forwarder when aborted: pass the session's `closed`. */
  signal?: AbortSignal;
  /** Where a helper that dies on its own is reported. */
  log?: Logger;
  /** How long the helper may take to listen (default 10 000 ms). */
  startTimeoutMs?: number;
  /** The command that runs the helper for a socket path, before nsenter is put in front; default {@linkcode helperArgv}. */
  helperArgv?: (socketPath: string) => string[];
}

/** A forwarder with a helper process behind it: the helper's pid and socket, for logs and tests. */
export interface HelperPortForwarder extends PodPortForwarder {
  /** The helper's pid (nsenter execs it, so this is the helper itself, not a wrapper). */
  readonly helperPid: number;
  /** The helper's unix socket. */
  readonly socketPath: string;
}

/** How long a helper gets to exit after its stdin closed, before SIGKILL. */
const HELPER_EXIT_GRACE_MS = 2_000;
/** The most of a helper's stderr kept for messages. */
const MAX_STDERR_BYTES = 4_096;
/** The most of a connect failure message read from the helper. */
const MAX_MESSAGE_BYTES = 4_096;

/**
 * Starts the helper inside the network namespace of `infraPid` and resolves once it listens; rejects (with the
 * helper's stderr) when it cannot start. The helper ends on `close()`, when `signal` aborts, and on its own when
 * cri-podman goes away (its stdin, which we hold open, reaches EOF), so none is left running.
 */
export async function openPodPortForwarder(options: PodPortForwarderOptions): Promise<HelperPortForwarder> {
  const { infraPid, socketDir, signal, log, startTimeoutMs = 10_000 } = options;
  if (!Number.isInteger(infraPid) || infraPid <= 0) throw new RangeError(`Not a process id: ${infraPid}`);
  signal?.throwIfAborted();
  const namespaces = namespacesOf(infraPid);
  if (socketDir.includes(",")) {
    // Deno's --allow-net and --allow-read take comma-separated lists.
    throw new Error(`The port-forward socket directory "${socketDir}" contains a comma`);
  }
  await ensurePrivateDirectory(socketDir);
  await assertPrivateDirectory(socketDir);
  const socketPath = `${socketDir.replace(/\/+$/, "")}/${
    Buffer.from(crypto.getRandomValues(new Uint8Array(9))).toString("base64url")
  }.sock`;
  if (new TextEncoder().encode(socketPath).length > MAX_SOCKET_PATH_BYTES) {
    throw new Error(`The port-forward socket path "${socketPath}" is longer than ${MAX_SOCKET_PATH_BYTES} bytes`);
  }
  const argv = enterNetnsArgv(infraPid, namespaces, (options.helperArgv ?? helperArgv)(socketPath));
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(argv[0]!, {
      args: argv.slice(1),
      // Nothing of cri-podman's working directory (a deno.json, a node_modules) must change how the helper runs.
      cwd: "/",
      env: { DENO_NO_UPDATE_CHECK: "1" },
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  } catch (err) {
    // nsenter (util-linux) missing, most likely.
    throw new Error(`Cannot start the port-forward helper: ${argv[0]}: ${(err as Error).message}`, { cause: err });
  }
  const lifeline = child.stdin.getWriter();
  const stderr = keepTail(child.stderr, MAX_STDERR_BYTES);
  const ready = Promise.withResolvers<boolean>();
  const stdoutDone = (async () => {
    // The helper prints one line, "ready", once it listens; anything after is drained so it never blocks.
    const decoder = new TextDecoder();
    let text = "";
    try {
      for await (const chunk of child.stdout) {
        if (text.length < 64) {
          text += decoder.decode(chunk, { stream: true });
          if (text.includes("\n")) ready.resolve(text.startsWith("ready\n"));
        }
      }
    } catch {
      // The helper was killed.
    }
    ready.resolve(false);
  })();

  let closing: Promise<void> | undefined;
  let failure: string | undefined;
  const handedOut = new Set<PodConnection>();
  const describeExit = (status: Deno.CommandStatus) =>
    status.signal === null ? `exit code ${status.code}` : `signal ${status.signal}`;
  const reap = async () => {
    await Promise.all([child.status, stdoutDone, stderr.done]);
    // A helper that was killed could not remove its socket.
    await Deno.remove(socketPath).catch(() => {});
  };
  const close = () =>
    closing ??= (async () => {
      signal?.removeEventListener("abort", onAbort);
      for (const conn of [...handedOut]) conn.close();
      // The lifeline: EOF on its stdin tells the helper to stop listening, close everything and exit.
      await lifeline.close().catch(() => {});
      const exited = await settlesWithin(child.status, HELPER_EXIT_GRACE_MS);
      if (!exited) kill(child, "SIGKILL");
      await reap();
    })();
  const onAbort = () => void close();

  // Start-up: "ready" on stdout, an early exit, the timeout or an abort, whichever comes first.
  const timeout = Promise.withResolvers<"timeout">();
  const timer = setTimeout(() => timeout.resolve("timeout"), startTimeoutMs);
  const aborted = Promise.withResolvers<"aborted">();
  const abortDuringStart = () => aborted.resolve("aborted");
  signal?.addEventListener("abort", abortDuringStart, { once: true });
  const started = await Promise.race([
    ready.promise.then((ok) => (ok ? "ready" as const : "no-ready" as const)),
    timeout.promise,
    aborted.promise,
  ]);
  clearTimeout(timer);
  signal?.removeEventListener("abort", abortDuringStart);
  if (started !== "ready") {
    kill(child, "SIGKILL");
    await lifeline.close().catch(() => {});
    await reap();
    const status = await child.status;
    if (started === "aborted") throw signal?.reason ?? new DOMException("aborted", "AbortError");
    const why = started === "timeout"
      ? `it did not listen within ${startTimeoutMs} ms`
      : `it ended with ${describeExit(status)}`;
    const said = stderr.text().trim();
    throw new Error(
      `Cannot start the port-forward helper in the network namespace of process ${infraPid}: ${why}` +
        (said === "" ? "" : `: ${said}`),
    );
  }

  signal?.addEventListener("abort", onAbort, { once: true });
  if (signal?.aborted) onAbort();
  // After stderr's EOF too, so that the report holds the helper's last words.
  void Promise.all([child.status, stderr.done]).then(([status]) => {
    if (closing) return;
    // Died on its own (killed, out of memory, a bug): report it, refuse new connections, and clean up after it.
    failure = `the port-forward helper for this pod ended (${describeExit(status)})` +
      (stderr.text().trim() === "" ? "" : `: ${stderr.text().trim()}`);
    log?.warn("port-forward helper exited", { pid: child.pid, infraPid, status: describeExit(status), failure });
    void close();
  });

  return {
    helperPid: child.pid,
    socketPath,
    get failure() {
      return failure;
    },
    close,
    async connect(port, connectSignal) {
      if (!Number.isInteger(port) || port < 1 || port > 65535) return refused(`invalid port ${port}`);
      if (failure !== undefined) return refused(failure);
      if (closing) return refused("the port-forward session is closing");
      if (connectSignal?.aborted) return refused("canceled");
      let conn: Deno.UnixConn;
      try {
        conn = await Deno.connect({ transport: "unix", path: socketPath });
      } catch (err) {
        return refused(failure ?? `cannot reach the port-forward helper: ${(err as Error).message}`);
      }
      const connection = unixPodConnection(conn, () => handedOut.delete(connection));
      handedOut.add(connection);
      if (closing) connection.close();
      const onConnectAbort = () => connection.close();
      connectSignal?.addEventListener("abort", onConnectAbort, { once: true });
      try {
        await connection.write(Uint8Array.of(port >> 8, port & 0xff));
        // One status byte: 0 = connected, and the pod's bytes follow; 1 = failed, and a message follows up to EOF.
        const status = new Uint8Array(1);
        const n = await conn.read(status);
        if (n === null) {
          connection.close();
          return refused(failure ?? `the port-forward helper closed the connection to port ${port}`);
        }
        if (status[0] === 0) return { ok: true, connection };
        const message = await readMessage(conn);
        connection.close();
        return refused(message || `failed to connect to localhost:${port} inside the pod`);
      } catch (err) {
        connection.close();
        if (connectSignal?.aborted) return refused("canceled");
        if (closing) return refused("the port-forward session is closing");
        return refused(failure ?? `port-forward helper: ${(err as Error).message}`);
      } finally {
        connectSignal?.removeEventListener("abort", onConnectAbort);
      }
    },
  };
}

/**
 * The command that runs the helper for `socketPath` in this run mode (see host/self_program.ts): `deno run` of the
 * helper's source as a data: URL, allowed only its socket and the loopback addresses, or a compiled binary itself with
 * {@linkcode PORT_FORWARD_HELPER_COMMAND}.
 */
export function helperArgv(socketPath: string, mode: RuntimeMode = currentRuntime()): string[] {
  return selfProgramArgv(
    {
      command: PORT_FORWARD_HELPER_COMMAND,
      moduleUrl: helperModuleUrl,
      permissions: [
        `--allow-net=127.0.0.1,[::1],unix:${socketPath}`,
        `--allow-read=${socketPath}`,
        `--allow-write=${socketPath}`,
      ],
    },
    [socketPath],
    mode,
  );
}

/** The helper's whole program as a `data:` module: {@linkcode runPortForwardHelper}'s source, called with the arguments. */
export function helperModuleUrl(): string {
  helperUrl ??= dataModuleUrl(mainModuleSource(runPortForwardHelper));
  return helperUrl;
}

let helperUrl: string | undefined;

/** Which namespaces of `pid` differ from ours; throws when the process is gone. */
interface NamespaceFacts {
  sameNet: boolean;
  sameUser: boolean;
}

function namespacesOf(pid: number): NamespaceFacts {
  const link = (of: string | number, kind: string) => {
    try {
      return Deno.readLinkSync(`/proc/${of}/ns/${kind}`);
    } catch (err) {
      throw new Error(
        `Cannot reach the network namespace of process ${of} (is the pod's infra container running?): ` +
          (err as Error).message,
        { cause: err },
      );
    }
  };
  return { sameNet: link(pid, "net") === link("self", "net"), sameUser: link(pid, "user") === link("self", "user") };
}

/**
 * Puts nsenter in front of `command` so that it runs in the network namespace of `pid`:
 * - a pod on the host's network (the same namespace as ours) needs none, and could not have one: its namespace
 *   belongs to the host's user namespace, where `-U -n` fails with EPERM;
 * - `-U --preserve-credentials` enters the pod's user namespace first, which owns its network namespace (`-n` alone
 *   fails with EPERM for an unprivileged user), unless we are in it already (entering it again fails with EINVAL).
 */
export function enterNetnsArgv(pid: number, namespaces: NamespaceFacts, command: readonly string[]): string[] {
  if (namespaces.sameNet) return [...command];
  const user = namespaces.sameUser ? [] : ["-U", "--preserve-credentials"];
  return ["nsenter", "-t", String(pid), ...user, "-n", "--", ...command];
}

/** Refuses a socket directory that someone else owns or can enter: whoever reaches the socket reaches the pod. */
async function assertPrivateDirectory(dir: string): Promise<void> {
  const st = await Deno.stat(dir);
  if (!st.isDirectory) throw new Error(`The port-forward socket directory "${dir}" is not a directory`);
  const uid = Deno.uid();
  if (uid !== null && st.uid !== uid) {
    throw new Error(`The port-forward socket directory "${dir}" belongs to uid ${st.uid}, not to us (uid ${uid})`);
  }
  if (st.mode !== null && (st.mode & 0o077) !== 0) await Deno.chmod(dir, 0o700);
}

/** Wraps the unix connection to the helper; `onClose` runs once, on the first close. */
function unixPodConnection(conn: Deno.UnixConn, onClose: () => void): PodConnection {
  let closed = false;
  return {
    read: (buffer) => conn.read(buffer),
    async write(chunk) {
      for (let offset = 0; offset < chunk.length;) offset += await conn.write(chunk.subarray(offset));
    },
    closeWrite: () => conn.closeWrite(),
    close() {
      if (closed) return;
      closed = true;
      try {
        conn.close();
      } catch {
        // Closed by the other side's failure already.
      }
      onClose();
    },
  };
}

function refused(message: string): PodConnectResult {
  return { ok: false, message };
}

/** Reads the helper's failure message up to EOF (capped). */
async function readMessage(conn: Deno.Conn): Promise<string> {
  const bytes = new Uint8Array(MAX_MESSAGE_BYTES);
  let length = 0;
  while (length < bytes.length) {
    const n = await conn.read(bytes.subarray(length)).catch(() => null);
    if (n === null) break;
    length += n;
  }
  return new TextDecoder().decode(bytes.subarray(0, length)).trim();
}

/** Resolves true if `promise` settles within `ms`, false otherwise; leaves no timer behind. */
async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([promise.then(() => true, () => true), late]);
  } finally {
    clearTimeout(timer);
  }
}

function kill(child: Deno.ChildProcess, sig: Deno.Signal): void {
  try {
    child.kill(sig);
  } catch {
    // Exited already.
  }
}

/** Drains `stream` in the background, keeping its last `max` bytes as text. */
function keepTail(stream: ReadableStream<Uint8Array>, max: number): { done: Promise<void>; text(): string } {
  let kept = new Uint8Array(0);
  const done = (async () => {
    try {
      for await (const chunk of stream) {
        const joined = new Uint8Array(kept.length + chunk.length);
        joined.set(kept);
        joined.set(chunk, kept.length);
        kept = joined.length > max ? joined.slice(joined.length - max) : joined;
      }
    } catch {
      // Killed: keep what came.
    }
  })();
  return { done, text: () => new TextDecoder().decode(kept) };
}

/**
 * The helper's program, run inside the pod's network namespace: listens on the unix socket `args[0]`; per
 * connection reads the port (2 bytes, big-endian), connects to 127.0.0.1:PORT, else [::1]:PORT (as containerd
 * does: a server may listen on one loopback address only), answers one status byte (0, or 1 and a message), then
 * relays bytes both ways with half-close. Stops when its stdin reaches EOF (cri-podman closed it or died) or on
 * SIGTERM, removing its socket; resolves to the exit status.
 *
 * It must stay self-contained, using nothing but `Deno.*` and globals: its source text also runs alone as a data:
 * URL (see {@linkcode helperModuleUrl}), where no import and nothing else of this module exists.
 */
export async function runPortForwardHelper(args: readonly string[]): Promise<number> {
  const socketPath = args[0];
  if (args.length !== 1 || socketPath === undefined || !socketPath.startsWith("/")) {
    console.error("usage: __portforward-helper SOCKET_PATH");
    return 2;
  }
  // 1 MiB buffers measured ~25% faster (1.37 against 1.1 GB/s), at 16 times the memory of every connection.
  const chunkBytes = 64 * 1024;
  // Connecting to loopback answers at once, unless the server's accept backlog is full; do not wait for ever.
  const connectTimeoutMs = 30_000;
  const encoder = new TextEncoder();
  const open = new Set<Deno.Conn>();
  let stopping = false;

  const closeQuietly = (conn: Deno.Conn) => {
    open.delete(conn);
    try {
      conn.close();
    } catch {
      // Closed already.
    }
  };
  const writeAll = async (to: { write(p: Uint8Array): Promise<number> }, bytes: Uint8Array) => {
    for (let offset = 0; offset < bytes.length;) offset += await to.write(bytes.subarray(offset));
  };
  const describe = (err: unknown) => {
    const name = err instanceof Error ? err.name : "";
    if (name === "TimeoutError") return `no answer within ${connectTimeoutMs / 1000} s`;
    const text = err instanceof Error ? err.message : String(err);
    return text.replace(/\s*\(os error \d+\)$/, "").replace(/^[A-Z](?![A-Z])/, (c) => c.toLowerCase());
  };
  const connectLoopback = async (port: number): Promise<Deno.TcpConn | string> => {
    const failures: string[] = [];
    for (const hostname of ["127.0.0.1", "::1"]) {
      try {
        return await Deno.connect({ hostname, port, signal: AbortSignal.timeout(connectTimeoutMs) });
      } catch (err) {
        failures.push(describe(err));
      }
    }
    const why = failures[0] === failures[1] ? failures[0] : `${failures[0]} (127.0.0.1), ${failures[1]} ([::1])`;
    return `failed to connect to localhost:${port} inside the pod: ${why}`;
  };
  // Copies until EOF, then half-closes the other side; the buffer is reused because each write is awaited.
  const relay = async (from: Deno.Conn, to: Deno.Conn, fail: () => void) => {
    const buffer = new Uint8Array(chunkBytes);
    try {
      for (;;) {
        const n = await from.read(buffer);
        if (n === null) break;
        await writeAll(to, buffer.subarray(0, n));
      }
      await to.closeWrite();
    } catch {
      // A reset on either side ends both directions.
      fail();
    }
  };
  const serve = async (client: Deno.Conn) => {
    open.add(client);
    let target: Deno.Conn | undefined;
    try {
      const header = new Uint8Array(2);
      for (let got = 0; got < header.length;) {
        const n = await client.read(header.subarray(got));
        if (n === null) return;
        got += n;
      }
      const port = header[0]! * 256 + header[1]!;
      const connected = port === 0 ? "invalid port 0" : await connectLoopback(port);
      if (typeof connected === "string") {
        const message = encoder.encode(connected);
        const reply = new Uint8Array(1 + message.length);
        reply[0] = 1;
        reply.set(message, 1);
        await writeAll(client, reply);
        return;
      }
      target = connected;
      open.add(target);
      if (stopping) return;
      connected.setNoDelay(true);
      await writeAll(client, Uint8Array.of(0));
      const pair = target;
      const fail = () => {
        closeQuietly(client);
        closeQuietly(pair);
      };
      await Promise.all([relay(client, pair, fail), relay(pair, client, fail)]);
    } catch {
      // The client went away.
    } finally {
      closeQuietly(client);
      if (target !== undefined) closeQuietly(target);
    }
  };

  let listener: Deno.UnixListener;
  try {
    listener = Deno.listen({ transport: "unix", path: socketPath });
  } catch (err) {
    console.error(`cannot listen on ${socketPath}: ${describe(err)}`);
    return 1;
  }
  const stop = () => {
    if (stopping) return;
    stopping = true;
    try {
      listener.close();
    } catch {
      // Closed already.
    }
    for (const conn of [...open]) closeQuietly(conn);
    try {
      Deno.removeSync(socketPath);
    } catch {
      // Removed with the listener.
    }
  };
  // cri-podman holds our stdin open and never writes: EOF means it closed us or died, even by SIGKILL.
  void (async () => {
    const scratch = new Uint8Array(256);
    try {
      while ((await Deno.stdin.read(scratch)) !== null) {
        // Nothing is ever sent; only the EOF counts.
      }
    } catch {
      // stdin broke: as good as EOF.
    }
    stop();
  })();
  Deno.addSignalListener("SIGTERM", stop);
  // A Ctrl-C on cri-podman's terminal reaches its whole process group; cri-podman decides when we stop.
  Deno.addSignalListener("SIGINT", () => {});
  await writeAll(Deno.stdout, encoder.encode("ready\n"));
  try {
    for await (const conn of listener) {
      if (stopping) {
        closeQuietly(conn);
        break;
      }
      void serve(conn);
    }
  } catch {
    // The listener was closed by stop().
  }
  stop();
  return 0;
}
