/**
 * A port-forward session over a WebSocket, as kubelet serves it (kubernetes/kubernetes
 * pkg/kubelet/cri/streaming/portforward/websocket.go `handleWebSocketStreams`):
 * - two channels per requested port, in order: data `2i` (both ways) and error `2i+1` (server to client);
 * - at the start, the port as an unsigned 16-bit little-endian number, alone in the first frame of each channel;
 * - one connection per port for the life of the WebSocket (the client cannot open more);
 * - a failed connection writes its message on its error channel (kubelet: "error forwarding port …", formed by the
 *   caller here); nothing on the wire ends a single connection;
 * - the WebSocket closes normally once every connection has ended (kubelet's `run` waits for all, then closes).
 *
 * Like remote_command.ts, a message wsstream would drop silently (data on an unknown channel or on an error channel,
 * bad base64) ends the session with the close code 1002 and the reason. A close signal `[255, 2i]` ends connection
 * `i`'s bytes from the client (kubelet has no such signal for port-forward; no client is known to send it).
 * @module
 */
import type { WebSocket } from "ws";
import type { ForwardedConnection, PortForwardSession } from "../session.ts";
import { AsyncQueue } from "../async_queue.ts";
import { ChannelConnection, type WebSocketSessionTuning } from "./channel_connection.ts";
import { type ChannelMessage, MAX_BASE64_CHANNEL, MAX_BINARY_CHANNEL } from "./frames.ts";
import { OutputChannel } from "./output_channel.ts";
import { channelProtocol, PORT_FORWARD_PROTOCOLS } from "./protocols.ts";

/**
 * Builds the session of an accepted WebSocket that negotiated `protocol` (one of `PORT_FORWARD_PROTOCOLS`), forwarding
 * `ports` (from the CRI PortForward request, or `parsePortQuery`). With no ports the WebSocket closes at once, as
 * kubelet's does: check them before accepting if the client should get an HTTP error instead. Throws if `protocol` is
 * not a port-forward protocol, a port is not 1–65535, or there are more ports than the framing can number.
 */
export function portForwardOverWebSocket(
  ws: WebSocket,
  protocol: string,
  ports: readonly number[],
  tuning: WebSocketSessionTuning = {},
): PortForwardSession {
  return new WebSocketPortForward(ws, protocol, ports, tuning);
}

class WebSocketPortForward implements PortForwardSession {
  readonly ports: readonly number[];
  readonly connections: AsyncQueue<ForwardedConnection>;
  readonly closed: AbortSignal;
  readonly #connection: ChannelConnection;
  readonly #forwarded: Forwarded[] = [];

  constructor(ws: WebSocket, protocol: string, ports: readonly number[], tuning: WebSocketSessionTuning) {
    const rules = channelProtocol(protocol);
    if (!rules || !PORT_FORWARD_PROTOCOLS.includes(protocol)) {
      throw new Error(`${JSON.stringify(protocol)} is not a port-forward subprotocol`);
    }
    for (const port of ports) {
      if (!Number.isInteger(port) || port < 1 || port > 0xffff) throw new RangeError(`${port} is not a port`);
    }
    const maxPorts = Math.floor(((rules.encoding === "binary" ? MAX_BINARY_CHANNEL : MAX_BASE64_CHANNEL) + 1) / 2);
    if (ports.length > maxPorts) {
      throw new RangeError(`${ports.length} ports: a ${JSON.stringify(protocol)} WebSocket can carry ${maxPorts}`);
    }
    this.ports = [...ports];
    const connection = new ChannelConnection(ws, rules, tuning, {
      message: (message) => this.#onMessage(message),
      closed: () => {
        for (const forwarded of this.#forwarded) forwarded.fromClient.end();
      },
    });
    this.#connection = connection;
    this.closed = connection.closed;
    this.connections = new AsyncQueue<ForwardedConnection>({ highWater: Infinity });
    this.ports.forEach((port, i) => {
      const forwarded = new Forwarded(connection, port, 2 * i, () => this.#onConnectionDone());
      this.#forwarded.push(forwarded);
      this.connections.push(forwarded);
      // "The associated port is written to each stream as a unsigned 16 bit integer in little endian format."
      const portBytes = Uint8Array.of(port & 0xff, port >> 8);
      connection.send(2 * i, portBytes).catch(() => {});
      connection.send(2 * i + 1, portBytes).catch(() => {});
    });
    this.connections.end();
    if (this.ports.length === 0) void connection.finish();
  }

  close(): Promise<void> {
    for (const forwarded of this.#forwarded) forwarded.fromClient.discard();
    return this.#connection.finish();
  }

  #onConnectionDone(): void {
    if (this.#forwarded.every((f) => f.done)) void this.#connection.finish();
  }

  #onMessage(message: ChannelMessage): void {
    if (message.kind === "empty") return;
    if (message.kind === "invalid") return this.#protocolError(message.reason);
    const forwarded = this.#forwarded[Math.floor(message.channel / 2)];
    if (!forwarded) {
      return this.#protocolError(
        `channel ${message.channel} does not exist: ${this.ports.length} port(s) use channels 0 to ${
          2 * this.ports.length - 1
        }`,
      );
    }
    const isError = message.channel % 2 === 1;
    if (message.kind === "close") {
      if (!isError) forwarded.fromClient.end();
      return;
    }
    if (isError) {
      return this.#protocolError(
        `data on channel ${message.channel}, the error channel of port ${forwarded.port}, which only the server writes`,
      );
    }
    if (message.payload.length > 0) forwarded.fromClient.push(message.payload); // dropped once it ended
  }

  #protocolError(reason: string): void {
    this.#connection.protocolError(reason, () => {
      for (const forwarded of this.#forwarded) forwarded.fromClient.discard();
    });
  }
}

/** One port's connection: its data channel both ways, its error channel for `fail`. */
class Forwarded implements ForwardedConnection {
  readonly port: number;
  readonly fromClient: AsyncQueue<Uint8Array>;
  readonly toClient: OutputChannel;
  readonly closed: AbortSignal;
  readonly #connection: ChannelConnection;
  readonly #errorChannel: number;

  constructor(connection: ChannelConnection, port: number, dataChannel: number, onDone: () => void) {
    this.port = port;
    this.#connection = connection;
    this.#errorChannel = dataChannel + 1;
    this.closed = connection.closed;
    const queue: AsyncQueue<Uint8Array> = new AsyncQueue<Uint8Array>({
      weigh: (chunk) => chunk.length,
      highWater: connection.readHighWaterBytes,
      onPressure: (over) => connection.hold(queue, over),
    });
    this.fromClient = queue;
    // kubelet's portForward closes both streams of the pair when the forwarder returns: what the client still sends
    // for this port is dropped from then on.
    this.toClient = new OutputChannel(connection, dataChannel, `the connection to port ${port}`, () => {
      queue.end();
      onDone();
    });
  }

  /** True once the connection ended on this side (`toClient.close()` or `fail()`). */
  get done(): boolean {
    return this.toClient.closed;
  }

  async fail(message: string): Promise<void> {
    if (this.done) return;
    // kubelet: fmt.Fprint(p.errorStream, msg.Error()), the message as plain text on the error channel.
    await this.#connection.send(this.#errorChannel, new TextEncoder().encode(message)).catch(() => {});
    await this.toClient.close();
  }
}
