/**
 * Runs one port-forward session: each connection the client opens is connected to its port inside the pod (through
 * a {@linkcode PodPortForwarder}) and the bytes are copied both ways, with back-pressure and half-close, until either
 * side ends it or the session closes.
 * @module
 */
import type { Logger } from "../observability/log.ts";
import type { PodConnection, PodPortForwarder } from "./pod_ports.ts";
import type { ForwardedConnection, PortForwardSession } from "./session.ts";

/** Options of {@linkcode servePortForward}. */
export interface ServePortForwardOptions {
  /** Where failures of single connections are noted (debug level). */
  log?: Logger;
  /** Most bytes read from the pod side at once (default 64 KiB). */
  chunkBytes?: number;
  /**
   * The sandbox's ID: a failure reaches the client as kubelet words it, "error forwarding port 80 to pod <id>, uid :
   * <why>" (kubelet's CRI streaming server passes an empty uid); without it, just the why.
   */
  sandboxId?: string;
}

/**
 * Default read size on the pod side. Each read gets a fresh buffer, and larger ones cost more than they save: 256 MiB
 * through a pod measured ~880 MiB/s with 64 KiB, ~660 with 256 KiB, ~570 with 1 MiB (Deno 2.9.6, 2 cores).
 */
const DEFAULT_CHUNK_BYTES = 64 * 1024;

/**
 * Serves `session` until its connections end or it closes, then closes the forwarder: it takes ownership of it. The
 * forwarder may still be starting (a promise): connections wait for it, and if it fails to start each one is failed
 * with its message, as kubelet reports a runtime's PortForward error per stream.
 */
export async function servePortForward(
  session: PortForwardSession,
  forwarder: PodPortForwarder | Promise<PodPortForwarder>,
  options: ServePortForwardOptions = {},
): Promise<void> {
  const opening = Promise.resolve(forwarder);
  // A start failure is reported to each connection; it must not surface as an unhandled rejection before one comes.
  opening.catch(() => {});
  const active = new Set<Promise<void>>();
  const sessionEnd = whenAborted(session.closed);
  const iterator = session.connections[Symbol.asyncIterator]();
  try {
    for (;;) {
      const next = iterator.next();
      next.catch(() => {});
      const step = await Promise.race([next, sessionEnd.promise]);
      if (step === ABORTED || step.done) break;
      const task = forwardConnection(step.value, opening, session.closed, options).catch((err) => {
        options.log?.debug("port-forward connection failed", { port: step.value.port, error: String(err) });
      });
      active.add(task);
      void task.finally(() => active.delete(task));
    }
  } catch (err) {
    options.log?.debug("port-forward session ended on error", { error: String(err) });
  } finally {
    if (session.closed.aborted) {
      // Let a transport that still waits on our iteration know we left; it need not answer.
      void Promise.resolve(iterator.return?.()).catch(() => {});
    }
    sessionEnd.dispose();
    await Promise.allSettled([...active]);
    await (await opening.catch(() => undefined))?.close();
  }
}

/** Connects one forwarded connection and copies until both directions ended, one failed, or `sessionClosed` fired. */
async function forwardConnection(
  conn: ForwardedConnection,
  opening: Promise<PodPortForwarder>,
  sessionClosed: AbortSignal,
  options: ServePortForwardOptions,
): Promise<void> {
  const closed = AbortSignal.any([conn.closed, sessionClosed]);
  if (closed.aborted) return;
  let forwarder: PodPortForwarder;
  try {
    forwarder = await opening;
  } catch (err) {
    await conn.fail(failureMessage(conn.port, err instanceof Error ? err.message : String(err), options)).catch(
      () => {},
    );
    return;
  }
  const result = await forwarder.connect(conn.port, closed);
  if (!result.ok) {
    if (!closed.aborted) await conn.fail(failureMessage(conn.port, result.message, options)).catch(() => {});
    return;
  }
  await copyBothWays(conn, result.connection, closed, options.chunkBytes ?? DEFAULT_CHUNK_BYTES);
}

/**
 * Copies client → pod and pod → client. The end of one direction half-closes the other side and the other direction
 * goes on (a client may send a request, close its side and wait for the answer); a failure on either side, or
 * `closed`, ends both.
 */
async function copyBothWays(
  conn: ForwardedConnection,
  pod: PodConnection,
  closed: AbortSignal,
  chunkBytes: number,
): Promise<void> {
  const stopped = Promise.withResolvers<typeof ABORTED>();
  let isStopped = false;
  const stop = () => {
    if (isStopped) return;
    isStopped = true;
    // Closing the pod side fails its pending read or write; the race below frees a wait on the client side.
    pod.close();
    stopped.resolve(ABORTED);
  };
  closed.addEventListener("abort", stop, { once: true });
  if (closed.aborted) stop();

  const clientToPod = async () => {
    const chunks = conn.fromClient[Symbol.asyncIterator]();
    try {
      for (;;) {
        const next = chunks.next();
        next.catch(() => {});
        const step = await Promise.race([next, stopped.promise]);
        if (step === ABORTED) {
          void Promise.resolve(chunks.return?.()).catch(() => {});
          return;
        }
        if (step.done) break;
        // Back-pressure: the next chunk is pulled only once the pod side took this one.
        await pod.write(step.value);
      }
      await pod.closeWrite();
    } catch {
      stop();
    }
  };

  const podToClient = async () => {
    try {
      for (;;) {
        // A fresh buffer each time: the transport may still hold the previous chunk after its write resolved.
        const buffer = new Uint8Array(chunkBytes);
        const n = await pod.read(buffer);
        if (n === null) break;
        const write = conn.toClient.write(buffer.subarray(0, n));
        write.catch(() => {});
        // Back-pressure: nothing more is read from the pod (so its TCP window closes) until the client took this.
        if (await Promise.race([write, stopped.promise]) === ABORTED) return;
      }
      await conn.toClient.close();
    } catch {
      stop();
    }
  };

  try {
    await Promise.all([clientToPod(), podToClient()]);
  } finally {
    closed.removeEventListener("abort", stop);
    pod.close();
    // The transport learns the connection is over (after a failure, too) and can end the client's streams.
    await conn.toClient.close().catch(() => {});
  }
}

/** The message a failed connection gets: kubelet's wording when the sandbox is known. */
function failureMessage(port: number, why: string, options: ServePortForwardOptions): string {
  return options.sandboxId === undefined
    ? why
    : `error forwarding port ${port} to pod ${options.sandboxId}, uid : ${why}`;
}

const ABORTED = Symbol("aborted");

/** A promise that resolves to {@linkcode ABORTED} when `signal` aborts, and the way to drop its listener. */
function whenAborted(signal: AbortSignal): { promise: Promise<typeof ABORTED>; dispose(): void } {
  const { promise, resolve } = Promise.withResolvers<typeof ABORTED>();
  const onAbort = () => resolve(ABORTED);
  if (signal.aborted) resolve(ABORTED);
  else signal.addEventListener("abort", onAbort, { once: true });
  return { promise, dispose: () => signal.removeEventListener("abort", onAbort) };
}
