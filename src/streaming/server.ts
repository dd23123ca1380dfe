/**
 * cri-podman's streaming server: the URLs Exec, Attach and PortForward hand out, served over SPDY/3.1 (client-go's
 * remotecommand and portforward: kubelet, crictl, critest) and WebSocket (the channel subprotocols). hono answers the
 * plain HTTP requests on `node:http` (through @hono/node-server); the upgrades — the real work — are taken from the
 * server's 'upgrade' event, since `Deno.serve` cannot switch a connection to SPDY. Each URL's single-use token names
 * the request; a reused, expired or unknown one gets 404 and nothing runs.
 * @module
 */
import { createAdaptorServer } from "@hono/node-server";
import { Hono } from "hono";
import { createServer as createHttpServer, type IncomingMessage, type Server } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import { chmod, rm } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import type { Logger } from "../observability/log.ts";
import { type Metrics, noMetrics } from "../observability/metrics.ts";
import type { PodmanPort } from "../podman/port.ts";
import { openPodPortForwarder } from "./pod_ports.ts";
import { servePortForward } from "./port_forward.ts";
import { refuseUpgrade } from "./refusal.ts";
import { bridgeRemoteCommand, firstTerminalSize } from "./remote_command.ts";
import type { PortForwardSession, RemoteCommandOptions, RemoteCommandSession, TerminalSize } from "./session.ts";
import {
  acceptSpdy,
  PORT_FORWARD_PROTOCOLS as SPDY_PORT_FORWARD_PROTOCOLS,
  portForwardOverSpdy,
  REMOTE_COMMAND_PROTOCOLS as SPDY_REMOTE_COMMAND_PROTOCOLS,
  remoteCommandOverSpdy,
} from "./spdy/mod.ts";
import { type StreamingUrls, type StreamRequest, TokenStore } from "./urls.ts";
import {
  acceptWebSocket,
  isWebSocketRequest,
  parsePortQuery,
  PORT_FORWARD_PROTOCOLS as WS_PORT_FORWARD_PROTOCOLS,
  portForwardOverWebSocket,
  REMOTE_COMMAND_PROTOCOLS as WS_REMOTE_COMMAND_PROTOCOLS,
  remoteCommandOverWebSocket,
  WebSocketRefused,
} from "./websocket/mod.ts";

/** How the streaming server runs. */
export interface StreamingServerOptions {
  /** Address to listen on (127.0.0.1 by default in the configuration). */
  address: string;
  /** TCP port; 0 = a free one. */
  port: number;
  /**
   * Listen on this unix socket instead of address:port, and give URLs with `advertisedPort` (a node: its relay
   * listens on address:advertisedPort inside the node and carries connections here, see src/node/stream_relay.ts).
   */
  unixPath?: string;
  advertisedPort?: number;
  /** PEM certificate and key for HTTPS; plain HTTP without. */
  tls?: { cert: string; key: string } | undefined;
  tokenTtlMs: number;
  /** A session with no traffic for this long is closed. */
  idleTimeoutMs: number;
  /** Sessions at once; more get 503. */
  maxSessions: number;
  podman: PodmanPort;
  log: Logger;
  /** A private directory for the port-forward helpers' sockets. */
  portForwardSocketDir: string;
  /** Counts sessions by kind (open now, and opened). */
  metrics?: Pick<Metrics, "streamingSession"> | undefined;
}

/** A running streaming server. */
export interface StreamingServer {
  /** URLs for Exec, Attach and PortForward (what cri/ gets as `ctx.streaming`). */
  readonly urls: StreamingUrls;
  /** `http://127.0.0.1:PORT` (or https). */
  readonly baseUrl: string;
  /** Sessions open now. */
  readonly activeSessions: number;
  /** Stops accepting, ends every session (exec'd processes are ended), closes the port. */
  stop(): Promise<void>;
}

/**
 * How long a TTY exec waits for the client's first terminal size before it starts without one. kubectl and crictl
 * send it as soon as their streams are up (a few milliseconds); a client with no terminal sends none and pays this.
 */
const FIRST_SIZE_WAIT_MS = 250;

const PATH = /^\/(exec|attach|portforward)\/([A-Za-z0-9_-]{16,128})(?:\?.*)?$/;

/** Starts the server and resolves once it listens. */
export async function startStreamingServer(opts: StreamingServerOptions): Promise<StreamingServer> {
  const tokens = new TokenStore(opts.tokenTtlMs);
  const app = new Hono();
  // Plain HTTP is not how these URLs are used: say so, and never run anything.
  app.all(
    "/:kind{exec|attach|portforward}/:token",
    (c) => c.text("this URL needs an upgrade to SPDY/3.1 or WebSocket (kubectl, crictl and client-go do that)\n", 400),
  );
  app.all("*", (c) => c.text("not found\n", 404));
  const server = (opts.tls
    ? createAdaptorServer({
      fetch: app.fetch,
      createServer: createHttpsServer,
      serverOptions: { cert: opts.tls.cert, key: opts.tls.key },
    })
    : createAdaptorServer({ fetch: app.fetch, createServer: createHttpServer })) as Server;

  const sockets = new Set<Duplex>();
  const running = new Set<Promise<void>>();
  const stopping = new AbortController();
  let active = 0;
  server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    // An unhandled socket error would abort the process.
    socket.on("error", () => {});
    const m = PATH.exec(req.url ?? "");
    if (!m || stopping.signal.aborted) return refuse(socket, 404, "not found");
    if (active >= opts.maxSessions) {
      opts.log.warn("streaming session refused: too many at once", { max: opts.maxSessions });
      return refuse(socket, 503, `too many streaming sessions (${opts.maxSessions})`);
    }
    const kind = m[1] as StreamRequest["kind"];
    const request = tokens.take(m[2]!, kind);
    if (!request) return refuse(socket, 404, "unknown, used or expired streaming token");
    active++;
    const closeSession = (opts.metrics ?? noMetrics).streamingSession(kind);
    sockets.add(socket);
    // A session stops counting against max_sessions once its connection is gone, not once its clean-up is over: a
    // client that starts its next session right after the last one ended must not get a 503.
    let counted = true;
    const release = () => {
      if (!counted) return;
      counted = false;
      active--;
      closeSession();
    };
    socket.once("close", release);
    const run = serveUpgrade(req, socket, head, request, opts).catch((err: Error) => {
      opts.log.warn("streaming session failed", { kind, error: err.message });
      socket.destroy();
    }).finally(() => {
      release();
      sockets.delete(socket);
      running.delete(run);
    });
    running.add(run);
  });

  if (opts.unixPath !== undefined) await rm(opts.unixPath, { force: true });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    const listening = () => {
      server.off("error", reject);
      resolve();
    };
    if (opts.unixPath !== undefined) server.listen(opts.unixPath, listening);
    else server.listen(opts.port, opts.address, listening);
  });
  if (opts.unixPath !== undefined) await chmod(opts.unixPath, 0o600);
  const port = opts.unixPath !== undefined ? opts.advertisedPort ?? 0 : (server.address() as AddressInfo).port;
  const host = opts.address.includes(":") ? `[${opts.address}]` : opts.address;
  const baseUrl = `${opts.tls ? "https" : "http"}://${host}:${port}`;
  opts.log.info("serving streams", { url: baseUrl, ...(opts.unixPath ? { via: opts.unixPath } : {}) });
  return {
    urls: { url: (request) => `${baseUrl}/${request.kind}/${tokens.issue(request)}` },
    baseUrl,
    get activeSessions() {
      return active;
    },
    stop: async () => {
      stopping.abort();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      server.closeAllConnections?.();
      // The sessions end their exec'd processes and port-forward helpers as their sockets close: wait for that.
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        Promise.allSettled([...running]),
        new Promise((resolve) => timer = setTimeout(resolve, 10_000)),
      ]);
      clearTimeout(timer);
      await closed;
    },
  };
}

/** Answers an upgrade request with a plain-text HTTP error and ends the connection. */
function refuse(socket: Duplex, status: 400 | 404 | 503, message: string): void {
  refuseUpgrade(socket, status, { body: `${message}\n`, contentType: "text/plain; charset=utf-8" });
}

/** Accepts the upgrade over the transport the client asked for and runs the request. */
async function serveUpgrade(
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
  request: StreamRequest,
  opts: StreamingServerOptions,
): Promise<void> {
  const websocket = isWebSocketRequest(req);
  // Each transport times out its own idle sessions: `ws` clears any timeout set on the socket it takes over.
  const wsTuning = {
    idleTimeoutMs: opts.idleTimeoutMs,
    onProtocolError: (reason: string) => opts.log.warn("websocket client broke the protocol", { reason }),
  };
  const spdySession = { idleTimeoutMs: opts.idleTimeoutMs };
  if (request.kind === "portforward") {
    let session: PortForwardSession;
    if (websocket) {
      // A WebSocket names no ports per connection: the PortForward request's ports (kubelet's CRI server), or, when
      // it had none, the URL's `?port=` (kubelet's own endpoint), refused with kubelet's message if unusable.
      let ports = request.ports;
      if (ports.length === 0) {
        const query = parsePortQuery(new URL(req.url ?? "/", "http://x").searchParams);
        if (!query.ok) return refuse(socket, 400, query.message);
        ports = query.ports;
      }
      const accepted = await acceptWebSocket(req, socket, head, { protocols: WS_PORT_FORWARD_PROTOCOLS }).catch(
        refused,
      );
      if (!accepted) return;
      session = portForwardOverWebSocket(accepted.ws, accepted.protocol, ports, wsTuning);
    } else {
      const accepted = acceptSpdy(req, socket, head, { protocols: SPDY_PORT_FORWARD_PROTOCOLS, session: spdySession });
      if (!accepted.ok) return;
      session = portForwardOverSpdy(accepted.session, request.ports);
    }
    const forwarder = openPodPortForwarder({
      infraPid: request.infraPid,
      socketDir: opts.portForwardSocketDir,
      signal: session.closed,
      log: opts.log,
    });
    await servePortForward(session, forwarder, { sandboxId: request.sandboxId, log: opts.log });
    return;
  }

  // Exec and Attach refused tty together with stderr already (cri/streams.ts).
  const options: RemoteCommandOptions = {
    stdin: request.stdin,
    stdout: request.stdout,
    stderr: request.stderr,
    tty: request.tty,
  };
  let session: RemoteCommandSession;
  if (websocket) {
    const accepted = await acceptWebSocket(req, socket, head, { protocols: WS_REMOTE_COMMAND_PROTOCOLS }).catch(
      refused,
    );
    if (!accepted) return;
    session = remoteCommandOverWebSocket(accepted.ws, accepted.protocol, options, {
      ...wsTuning,
      ...(request.kind === "exec" ? { command: request.cmd } : {}),
    });
  } else {
    const accepted = acceptSpdy(req, socket, head, { protocols: SPDY_REMOTE_COMMAND_PROTOCOLS, session: spdySession });
    if (!accepted.ok) return;
    session = await remoteCommandOverSpdy(accepted.session, accepted.protocol, options, {
      ...(request.kind === "exec" ? { command: request.cmd } : {}),
    });
  }
  const log = (msg: string, fields: Record<string, unknown>) => opts.log.debug(msg, fields);
  try {
    if (request.kind === "exec") {
      // A TTY command starts at the client's terminal size (Podman takes it with the start), not at 0×0.
      const { first, rest } = await firstTerminalSize(session.resize, FIRST_SIZE_WAIT_MS, session.closed);
      if (session.closed.aborted) return;
      const exec = await opts.podman.exec.open(request.containerId, request.cmd, { ...options, size: first });
      opts.log.debug("exec started", { container: request.containerId, exec: exec.execId, tty: options.tty });
      await bridgeRemoteCommand(session, exec, { exitCode: exec.exitCode, abandon: exec.kill }, log, rest);
    } else {
      const attached = await opts.podman.containers.attach(request.containerId, options);
      // Ending stdin toward Podman closes the container's stdin for good (a shell then exits): only a container with
      // stdin_once asks for that (CRI api.proto), and only from a client that attached its stdin.
      const closesStdin = request.stdinOnce && request.stdin;
      const process = closesStdin ? attached : {
        output: () => attached.output(),
        write: (chunk: Uint8Array) => attached.write(chunk),
        endInput: () => {},
        resize: (size: TerminalSize) => attached.resize(size),
        close: () => attached.close(),
      };
      await bridgeRemoteCommand(session, process, {}, log);
    }
  } catch (err) {
    // Podman refused (the container stopped since the RPC, …): the client reads why on its error stream.
    if (!session.closed.aborted) await session.finish({ kind: "error", message: (err as Error).message });
  }
}

/** A refused WebSocket handshake was already answered; anything else is a failure. */
function refused(err: unknown): undefined {
  if (err instanceof WebSocketRefused) return undefined;
  throw err;
}
