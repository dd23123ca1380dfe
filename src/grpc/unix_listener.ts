/**
 * Serves a grpc-js server on a unix socket through our own `node:net` listener instead of `server.bindAsync()`,
 * so that each connection's client→server octets pass the {@link ClientStreamRewriter} before grpc-js sees them:
 * Go clients' socket-path `:authority` becomes valid, and client GOAWAY frames, which abort Deno 2.9's
 * `node:http2` after a few hundred streams (denoland/deno#36788), never reach it. Server→client octets pass
 * unchanged. Connections are handed over with `server.createConnectionInjector()` (grpc-js ≥ 1.12).
 *
 * Assumes the server's HTTP/2 settings are the defaults (grpc-js on Deno sends an empty SETTINGS frame): header
 * table 4096 octets, frames up to 16384 octets. Do not give the grpc-js server keepalive, max-connection-age or
 * idle-timeout options: they make the server start GOAWAY/ping exchanges on a `node:http2` fragile exactly there.
 * @module
 */

import * as grpc from "@grpc/grpc-js";
import type { Buffer } from "node:buffer";
import net from "node:net";
import { Duplex } from "node:stream";
import { ClientStreamRewriter, type RewriterStats } from "./h2_frames.ts";
import { prepareSocketPath, removeSocketFile, secureSocketFile, type SocketFileId } from "./socket_file.ts";

/** Options of {@link listenUnix}. */
export interface ListenUnixOptions {
  /** What replaces an invalid `:authority` (a socket path, say); default `localhost`. */
  authority?: string;
  /** Mode of the socket file after listen; default 0660. */
  mode?: number;
  /**
   * Called with what went wrong on one connection (bytes that are not HTTP/2, a socket error other than the client
   * resetting it); that connection is closed, the others go on. For logs.
   */
  onConnectionError?: (err: Error) => void;
}

/** Options of {@link UnixListener.close}. */
export interface CloseOptions {
  /** How long calls in flight may take to finish before they are cancelled; default 5000 ms. */
  graceMs?: number;
  /** Called once when the grace has run out with calls still in flight, just before their connections are cut. */
  onGraceExpired?: () => void;
}

/** Counters across all connections of a listener. */
export interface ListenerStats extends RewriterStats {
  /** Connections accepted. */
  connections: number;
  /** Connections closed because of an error (see {@link ListenUnixOptions.onConnectionError}). */
  connectionErrors: number;
}

/** A grpc-js server listening on a unix socket through the rewriting transport. */
export interface UnixListener {
  /** The socket path. */
  readonly path: string;
  /** Connections open now. */
  readonly openConnections: number;
  /** What the listener has done so far. */
  readonly stats: Readonly<ListenerStats>;
  /**
   * Stops accepting, lets calls in flight finish for up to `graceMs` (grpc-js `tryShutdown`, then
   * `forceShutdown`), destroys the remaining connections and removes the socket file. Shuts the whole grpc-js
   * server down. Idempotent: later calls return the same promise.
   */
  close(options?: CloseOptions): Promise<void>;
}

/**
 * Makes `server` serve on the unix socket `path`: prepares the path (see {@link prepareSocketPath}: refuses a
 * socket another server listens on, removes a stale one), listens, sets the file mode (0660), and hands every
 * connection to `server` through the rewriting transport. The server needs no `bindAsync()`.
 */
export async function listenUnix(
  server: grpc.Server,
  path: string,
  options: ListenUnixOptions = {},
): Promise<UnixListener> {
  await prepareSocketPath(path);
  const injector = server.createConnectionInjector(grpc.ServerCredentials.createInsecure());
  const sockets = new Set<net.Socket>();
  const totals: ListenerStats = {
    connections: 0,
    connectionErrors: 0,
    headerBlocks: 0,
    authoritiesRewritten: 0,
    goawaysDropped: 0,
  };
  const live = new Set<ClientStreamRewriter>();
  // Connections whose preface has not arrived yet: grpc-js does not know them, so close() ends them itself.
  const awaitingPreface = new Set<net.Socket>();
  let closing: Promise<void> | undefined;

  const report = (err: unknown) => {
    totals.connectionErrors++;
    try {
      options.onConnectionError?.(err instanceof Error ? err : new Error(String(err)));
    } catch {
      // A failing logger must not take the server down.
    }
  };

  const netServer = net.createServer((socket) => {
    totals.connections++;
    sockets.add(socket);
    awaitingPreface.add(socket);
    const rewriter = new ClientStreamRewriter(options.authority ? { authority: options.authority } : {});
    live.add(rewriter);
    let failed = false;
    socket.on("error", (err: Error & { code?: string }) => {
      // A client that exits mid-connection (crictl does) resets it: that is how connections end, not a fault.
      if (!failed && err.code !== "ECONNRESET" && err.code !== "EPIPE") report(err);
      failed = true;
    });
    socket.on("close", () => {
      sockets.delete(socket);
      awaitingPreface.delete(socket);
      live.delete(rewriter);
      addStats(totals, rewriter.stats);
    });
    if (closing) {
      socket.destroy();
      return;
    }
    const inject = (duplex: Duplex) => {
      awaitingPreface.delete(socket);
      injector.injectConnection(duplex);
    };
    serveConnection(socket, rewriter, inject, (err) => {
      if (!failed) report(err);
      failed = true;
    }, () => closing !== undefined);
  });
  netServer.on("error", (err) => report(err));

  await new Promise<void>((resolve, reject) => {
    netServer.once("error", reject);
    netServer.listen(path, () => {
      netServer.off("error", reject);
      resolve();
    });
  });
  let fileId: SocketFileId | undefined;
  try {
    fileId = await secureSocketFile(path, options.mode);
  } catch (err) {
    netServer.close();
    throw err;
  }

  // Deno's `node:http2` calls back from session.close() before the session's streams end, so grpc-js's
  // tryShutdown() resolves early: calls in flight are over only when their connection has closed.
  const allClosed = () =>
    new Promise<void>((resolve) => {
      const check = () => sockets.size === 0 && resolve();
      for (const socket of sockets) socket.once("close", () => queueMicrotask(check));
      check();
    });

  const close = async (graceMs: number, onGraceExpired?: () => void): Promise<void> => {
    const stopped = new Promise<void>((resolve) => netServer.close(() => resolve()));
    for (const socket of awaitingPreface) socket.destroy();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const graceOver = new Promise<"timeout">((resolve) => timer = setTimeout(() => resolve("timeout"), graceMs));
    try {
      await Promise.race([new Promise<void>((resolve) => server.tryShutdown(() => resolve())), graceOver]);
      const outcome = await Promise.race([allClosed(), graceOver]);
      if (outcome === "timeout") {
        onGraceExpired?.();
        server.forceShutdown();
      }
    } finally {
      clearTimeout(timer);
    }
    for (const socket of sockets) socket.destroy();
    await stopped;
    await removeSocketFile(path, fileId);
  };

  return {
    path,
    get openConnections() {
      return sockets.size;
    },
    get stats() {
      const sum = { ...totals };
      for (const rewriter of live) addStats(sum, rewriter.stats);
      return sum;
    },
    close(closeOptions: CloseOptions = {}) {
      closing ??= close(closeOptions.graceMs ?? 5000, closeOptions.onGraceExpired);
      return closing;
    },
  };
}

function addStats(into: RewriterStats, from: RewriterStats): void {
  into.headerBlocks += from.headerBlocks;
  into.authoritiesRewritten += from.authoritiesRewritten;
  into.goawaysDropped += from.goawaysDropped;
}

/**
 * Pipes one raw connection through `rewriter` into a duplex handed to grpc-js once the client preface has
 * arrived, so that bytes that are not HTTP/2 never reach `node:http2`.
 */
function serveConnection(
  socket: net.Socket,
  rewriter: ClientStreamRewriter,
  inject: (duplex: Duplex) => void,
  fail: (err: unknown) => void,
  isClosing: () => boolean,
): void {
  let duplex: Duplex | undefined;
  let held: Uint8Array[] = [];

  const start = () => {
    duplex = new Duplex({
      read() {
        if (socket.isPaused()) socket.resume();
      },
      write(chunk: Buffer, _encoding, callback) {
        if (socket.destroyed || socket.writableEnded) return callback();
        if (socket.write(chunk)) callback();
        else socket.once("drain", () => callback());
      },
      final(callback) {
        socket.end();
        callback();
      },
      destroy(_err, callback) {
        socket.destroy();
        // Errors of the HTTP/2 session are its own business; passing them on would make an unhandled 'error'.
        callback(null);
      },
    });
    duplex.on("error", () => {});
    inject(duplex);
    for (const chunk of held) duplex.push(chunk);
    held = [];
  };

  socket.on("data", (chunk: Buffer) => {
    let out: Uint8Array;
    try {
      out = rewriter.push(chunk);
    } catch (err) {
      fail(err);
      socket.destroy();
      return;
    }
    if (!duplex) {
      if (out.length) held.push(out);
      if (!rewriter.prefaceComplete) return;
      if (isClosing()) {
        socket.destroy();
        return;
      }
      start();
      return;
    }
    if (out.length && !duplex.push(out)) socket.pause();
  });
  socket.on("end", () => {
    // The client is done sending: end the stream toward grpc-js so that its session closes after answering.
    if (duplex) duplex.push(null);
    else socket.destroy();
  });
  socket.on("close", () => {
    if (duplex && !duplex.destroyed) duplex.destroy();
  });
}
