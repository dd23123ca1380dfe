/**
 * The WebSocket side of the streaming server: exec, attach and port-forward over Kubernetes' channel subprotocols
 * (`v5.channel.k8s.io`, `v4.channel.k8s.io`, `v4.base64.channel.k8s.io`, `channel.k8s.io`, `base64.channel.k8s.io`),
 * as kubelet's streaming server and the apiserver speak them. `acceptWebSocket` completes the handshake; the builders
 * turn the WebSocket into the transport-free sessions of ../session.ts. The WebSocket stays paused from the handshake
 * until a builder takes it, so the server may do slow work (create the exec in Podman) in between without losing
 * what the client sends meanwhile.
 *
 * ```ts
 * import type { IncomingMessage } from "node:http";
 * import type { Duplex } from "node:stream";
 * import {
 *   acceptWebSocket,
 *   isWebSocketRequest,
 *   PORT_FORWARD_PROTOCOLS,
 *   portForwardOverWebSocket,
 *   REMOTE_COMMAND_PROTOCOLS,
 *   remoteCommandOverWebSocket,
 *   WebSocketRefused,
 * } from "./websocket/mod.ts";
 *
 * server.on("upgrade", async (req: IncomingMessage, socket: Duplex, head: Buffer) => {
 *   if (!isWebSocketRequest(req)) return spdyUpgrade(req, socket, head); // SPDY/3.1, the other transport
 *   const request = tokens.take(tokenOf(req.url), kindOf(req.url)); // unknown token: answer 404 before accepting
 *   try {
 *     if (request.kind === "portforward") {
 *       const { ws, protocol } = await acceptWebSocket(req, socket, head, { protocols: PORT_FORWARD_PROTOCOLS });
 *       await forwardPorts(portForwardOverWebSocket(ws, protocol, request.ports));
 *     } else {
 *       const { ws, protocol } = await acceptWebSocket(req, socket, head, { protocols: REMOTE_COMMAND_PROTOCOLS });
 *       const { stdin, stdout, stderr, tty } = request;
 *       const session = remoteCommandOverWebSocket(ws, protocol, { stdin, stdout, stderr, tty }, {
 *         idleTimeoutMs: config.streaming.idle_timeout_ms,
 *         onProtocolError: (reason) => log.warn("websocket client broke the protocol", { reason }),
 *       });
 *       await bridgeRemoteCommand(session, process, end);
 *     }
 *   } catch (err) {
 *     if (!(err instanceof WebSocketRefused)) throw err; // the client was answered 400/403 and the socket destroyed
 *     log.info("websocket refused", { status: err.status, reason: err.message });
 *   }
 * });
 * ```
 *
 * `crictl port-forward --transport websocket` (and `kubectl port-forward` with PortForwardWebsockets, where it reaches
 * a streaming server directly) speaks no channel protocol: client-go tunnels SPDY/3.1 frames in WebSocket binary
 * messages (`SPDY_TUNNEL_PORT_FORWARD_PROTOCOL`). `acceptWebSocket` can accept that subprotocol (ws's own header parser
 * would refuse its '/'); the SPDY side then reads the WebSocket as a byte stream (`createWebSocketStream(ws)`, after
 * `ws.resume()`), which this module does not do.
 * @module
 */

export { ConnectionClosedError, type WebSocketSessionTuning } from "./channel_connection.ts";
export { parsePortQuery } from "./port_query.ts";
export { portForwardOverWebSocket } from "./port_forward.ts";
export { PORT_FORWARD_PROTOCOLS, REMOTE_COMMAND_PROTOCOLS, SPDY_TUNNEL_PORT_FORWARD_PROTOCOL } from "./protocols.ts";
export { remoteCommandOverWebSocket } from "./remote_command.ts";
export { acceptWebSocket, isWebSocketRequest, WebSocketRefused } from "./upgrade.ts";
