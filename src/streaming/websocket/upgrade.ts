/**
 * The WebSocket handshake of a streaming request, from node:http's `upgrade` event, with `ws` doing RFC 6455.
 *
 * The subprotocol is the first one in the client's list that this URL accepts (wsstream/conn.go `handshake`; client-go
 * lists them by preference, v5 first). A client offering none gets `""` where kubelet allows that. A request no
 * subprotocol fits is refused with 403 Forbidden, as kubelet's golang.org/x/net/websocket server refuses a failed
 * handshake; a malformed handshake with 400. The body of a refusal is a Kubernetes Status, which client-go's WebSocket
 * round tripper turns into the error it reports (client-go transport/websocket/roundtripper.go); the socket is then
 * destroyed. An 'error' listener sits on the socket from the start and on the WebSocket: under Deno, as under Node, an
 * 'error' event nobody listens to ends the process.
 * @module
 */
import { refuseUpgrade } from "../refusal.ts";
import type { Buffer } from "node:buffer";
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { type WebSocket, WebSocketServer } from "ws";
import { chooseSubprotocol, parseSubprotocols } from "./protocols.ts";
import { goJson, type KubeStatus } from "../status.ts";

/** What the handshake accepts. */
export interface AcceptOptions {
  /** The subprotocols this URL serves (`REMOTE_COMMAND_PROTOCOLS`, `PORT_FORWARD_PROTOCOLS`); `""` admits a client that names none. */
  protocols: readonly string[];
  /** The largest message the client may send; 32 MiB, golang.org/x/net/websocket's `DefaultMaxPayloadBytes` (kubelet's). */
  maxPayload?: number;
}

/** An accepted WebSocket and the subprotocol it speaks. */
export interface AcceptedWebSocket {
  /** The negotiated subprotocol (`""` if the client named none); `ws.protocol` does not know it. */
  protocol: string;
  /** The WebSocket, with an 'error' listener attached, paused until a session is built on it (or `ws.resume()`). */
  ws: WebSocket;
}

/** A handshake that did not complete: the client was answered `status` (0: it left first) and the socket destroyed. */
export class WebSocketRefused extends Error {
  /** The HTTP status the client got, or 0 if it went away before an answer. */
  readonly status: number;

  /** A refusal with the `status` sent and its `message`. */
  constructor(status: number, message: string) {
    super(message);
    this.name = "WebSocketRefused";
    this.status = status;
  }
}

const DEFAULT_MAX_PAYLOAD = 32 << 20;

/**
 * Whether `req` asks for a WebSocket (wsstream `IsWebSocketRequest`: `Upgrade: websocket` and a `Connection` header
 * naming `upgrade`), as opposed to SPDY/3.1.
 */
export function isWebSocketRequest(req: Pick<IncomingMessage, "headers">): boolean {
  const upgrade = req.headers.upgrade;
  const connection = req.headers.connection;
  return typeof upgrade === "string" && upgrade.toLowerCase() === "websocket" &&
    typeof connection === "string" && connection.toLowerCase().split(",").some((t) => t.trim() === "upgrade");
}

/**
 * Completes the WebSocket handshake of `req` on `socket` (`head` is what the client sent after its request) with the
 * client's most preferred subprotocol of `options.protocols`. Rejects with `WebSocketRefused` after answering the
 * client, if none fits, the handshake is malformed or the client left.
 */
export function acceptWebSocket(
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
  options: AcceptOptions,
): Promise<AcceptedWebSocket> {
  // Until ws takes the socket over (and after: ws's own listener comes and goes), a reset must not end the process.
  socket.on("error", () => {});
  const offered = parseSubprotocols(req.headers["sec-websocket-protocol"]);
  const protocol = chooseSubprotocol(offered, options.protocols);
  if (protocol === undefined) {
    // x/net/websocket answers a failed handshake 403 with the error, which wsstream words like this (Go's %v of a slice).
    const message = offered.length === 0
      ? `a subprotocol is required; supports [${options.protocols.join(" ")}]`
      : `requested protocol(s) are not supported: [${offered.join(" ")}]; supports [${
        options.protocols.filter((p) => p !== "").join(" ")
      }]`;
    return Promise.reject(refuse(socket, 403, "Forbidden", message));
  }
  return new Promise((resolve, reject) => {
    let settled = false;
    const server = new WebSocketServer({
      noServer: true,
      clientTracking: false,
      perMessageDeflate: false, // kubelet's WebSocket library has no compression either
      maxPayload: options.maxPayload ?? DEFAULT_MAX_PAYLOAD,
    });
    server.on("error", () => {}); // emitted only by a server bound to an HTTP server, which this one is not
    // The subprotocol is chosen above and answered here, and ws does not see the request's list: its parser accepts
    // only RFC 7230 tokens, which refuses client-go's "SPDY/3.1+portforward.k8s.io" (a '/') with a 400.
    server.on("headers", (headers: string[]) => {
      if (protocol !== "") headers.push(`Sec-WebSocket-Protocol: ${protocol}`);
    });
    // A malformed handshake (method, Upgrade, Sec-WebSocket-Key or -Version): ws hands it here instead of answering.
    server.on("wsClientError", (err: Error, clientSocket: Duplex) => {
      settled = true;
      reject(refuse(clientSocket, 400, "BadRequest", err.message));
    });
    const offeredHeader = req.headers["sec-websocket-protocol"];
    delete req.headers["sec-websocket-protocol"];
    try {
      server.handleUpgrade(req, socket, head, (ws) => {
        settled = true;
        ws.on("error", () => {}); // the session's listener records it; this one keeps a session-less socket harmless
        // Nothing reads the client's messages until a session is built on the WebSocket, however long the caller
        // takes (ws would emit them to no listener); the session resumes reading.
        ws.pause();
        resolve({ protocol, ws });
      });
    } finally {
      if (offeredHeader !== undefined) req.headers["sec-websocket-protocol"] = offeredHeader;
    }
    // handleUpgrade runs synchronously without verifyClient; it destroys, without a word, a socket the client has
    // already half-closed.
    if (!settled) {
      socket.destroy();
      reject(new WebSocketRefused(0, "the client went away during the WebSocket handshake"));
    }
  });
}

/** Answers `status` with a Kubernetes Status saying `message`, destroys the socket once sent, and returns the error. */
function refuse(socket: Duplex, status: 400 | 403, reason: string, message: string): WebSocketRefused {
  const body: KubeStatus = {
    kind: "Status",
    apiVersion: "v1",
    metadata: {},
    status: "Failure",
    message,
    reason,
    code: status,
  };
  refuseUpgrade(socket, status, { body: goJson(body), contentType: "application/json" });
  return new WebSocketRefused(status, message);
}
