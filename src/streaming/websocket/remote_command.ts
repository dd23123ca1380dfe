/**
 * A remote-command session (exec, attach) over a WebSocket speaking one of the channel protocols: channel 0 stdin,
 * 1 stdout, 2 stderr, 3 error (the Status), 4 resize (kubernetes/kubernetes
 * staging/src/k8s.io/apimachinery/pkg/util/remotecommand/constants.go).
 *
 * What it mirrors, and from where:
 * - at the start, an empty frame on the lowest output channel the client asked for (stdout, else stderr, else error),
 *   which tells the client the streams are ready (kubelet pkg/kubelet/cri/streaming/remotecommand/websocket.go
 *   `createWebSocketStreams`; the apiserver's util/proxy/websocket.go does the same for v5);
 * - stdin ends with the close signal `[255, 0]` (v5: wsstream/conn.go `handle`) or when the connection closes;
 * - terminal sizes arrive as a JSON stream on channel 4, and are dropped without a TTY, where kubelet's runtime ignores
 *   them;
 * - `finish` discards what the client still sends, writes the Status on channel 3 (see ../status.ts), waits until it left
 *   and closes with 1000: client-go reads the error channel, stdout and stderr to their end, which is that normal
 *   close (client-go tools/remotecommand/websocket.go `readDemuxLoop`, v4.go `errorDecoderV4`);
 * - a close signal for one of the five channels is accepted even when the session does not use it (wsstream closes
 *   that channel's pipe, a no-op).
 *
 * Where wsstream silently drops a message no client sends (data on an unknown or server-only channel, stdin when stdin
 * was not requested, a malformed close signal, bad base64, a malformed size), this session ends with a protocol error
 * instead, so the client learns why: a Failure Status (400) on channel 3 and the close code 1002 with the reason.
 * @module
 */
import type { WebSocket } from "ws";
import type { CommandOutcome, RemoteCommandOptions, RemoteCommandSession, TerminalSize } from "../session.ts";
import { AsyncQueue } from "../async_queue.ts";
import { ChannelConnection, type WebSocketSessionTuning } from "./channel_connection.ts";
import type { ChannelMessage } from "./frames.ts";
import { OutputChannel } from "./output_channel.ts";
import { channelProtocol } from "./protocols.ts";
import { protocolErrorPayload, statusPayload } from "../status.ts";
import { TerminalSizeDecoder } from "../terminal_size.ts";

/** The remote-command channels (apimachinery util/remotecommand constants.go). */
export const REMOTE_COMMAND_CHANNELS = { stdin: 0, stdout: 1, stderr: 2, error: 3, resize: 4 } as const;

const NAMES = ["stdin", "stdout", "stderr", "error", "resize"] as const;

/** Terminal sizes a slow reader may have pending; older ones are dropped, only the latest size matters. */
const MAX_PENDING_SIZES = 16;

/**
 * Builds the session of an accepted WebSocket that negotiated `protocol` (one of `REMOTE_COMMAND_PROTOCOLS`), for a
 * request with `options`. Throws if `protocol` is not a remote-command protocol.
 */
export function remoteCommandOverWebSocket(
  ws: WebSocket,
  protocol: string,
  options: RemoteCommandOptions,
  tuning: WebSocketSessionTuning & { command?: readonly string[] } = {},
): RemoteCommandSession {
  return new WebSocketRemoteCommand(ws, protocol, options, tuning);
}

class WebSocketRemoteCommand implements RemoteCommandSession {
  readonly options: RemoteCommandOptions;
  readonly stdin: AsyncQueue<Uint8Array> | undefined;
  readonly stdout: OutputChannel | undefined;
  readonly stderr: OutputChannel | undefined;
  readonly resize: AsyncQueue<TerminalSize> | undefined;
  readonly closed: AbortSignal;
  readonly #connection: ChannelConnection;
  readonly #sizes = new TerminalSizeDecoder();
  /** The exec'd argv, for the non-zero exit message; absent for attach. */
  readonly #command: readonly string[] | undefined;
  #finishing: Promise<void> | undefined;

  constructor(
    ws: WebSocket,
    protocol: string,
    options: RemoteCommandOptions,
    tuning: WebSocketSessionTuning & { command?: readonly string[] },
  ) {
    this.#command = tuning.command;
    const rules = channelProtocol(protocol);
    if (!rules) throw new Error(`${JSON.stringify(protocol)} is not a remote-command subprotocol`);
    // kubelet's NewOptions drops stderr with a TTY: the terminal carries both outputs.
    this.options = { ...options, stderr: options.stderr && !options.tty };
    const connection = new ChannelConnection(ws, rules, tuning, {
      message: (message) => this.#onMessage(message),
      closed: () => {
        this.stdin?.end();
        this.resize?.end();
      },
    });
    this.#connection = connection;
    this.closed = connection.closed;
    const { stdout, stderr, error } = REMOTE_COMMAND_CHANNELS;
    if (this.options.stdin) {
      const queue: AsyncQueue<Uint8Array> = new AsyncQueue<Uint8Array>({
        weigh: (chunk) => chunk.length,
        highWater: connection.readHighWaterBytes,
        onPressure: (over) => connection.hold(queue, over),
      });
      this.stdin = queue;
    }
    if (this.options.stdout) this.stdout = new OutputChannel(connection, stdout, "stdout");
    if (this.options.stderr) this.stderr = new OutputChannel(connection, stderr, "stderr");
    if (this.options.tty) {
      this.resize = new AsyncQueue<TerminalSize>({ highWater: MAX_PENDING_SIZES, dropOldest: true });
    }
    // "Send an empty message to the lowest writable channel to notify the client the connection is established."
    const ready = this.options.stdout ? stdout : this.options.stderr ? stderr : error;
    connection.send(ready, new Uint8Array(0)).catch(() => {}); // a client already gone shows in `closed`
  }

  finish(outcome: CommandOutcome): Promise<void> {
    this.#finishing ??= this.#finish(outcome);
    return this.#finishing;
  }

  async #finish(outcome: CommandOutcome): Promise<void> {
    // The apiserver's finish closes the input channels first, "so that anything the client still sends is discarded".
    this.stdin?.discard();
    this.resize?.discard();
    const payload = statusPayload(outcome, this.#connection.protocol.status, this.#command);
    await this.#connection.finish(payload && { channel: REMOTE_COMMAND_CHANNELS.error, payload });
  }

  #onMessage(message: ChannelMessage): void {
    switch (message.kind) {
      case "empty":
        return;
      case "invalid":
        return this.#protocolError(message.reason);
      case "close":
        if (message.channel >= NAMES.length) {
          return this.#protocolError(`the close signal names channel ${message.channel}, which does not exist`);
        }
        if (message.channel === REMOTE_COMMAND_CHANNELS.stdin) this.stdin?.end();
        if (message.channel === REMOTE_COMMAND_CHANNELS.resize) this.resize?.end();
        return;
      case "data":
        return this.#onData(message.channel, message.payload);
    }
  }

  #onData(channel: number, payload: Uint8Array): void {
    switch (channel) {
      case REMOTE_COMMAND_CHANNELS.stdin:
        if (!this.stdin) return this.#protocolError("data on channel 0 (stdin), but the request has stdin=false");
        if (payload.length > 0) this.stdin.push(payload); // after the close signal, dropped as wsstream drops it
        return;
      case REMOTE_COMMAND_CHANNELS.resize: {
        if (!this.resize) return; // no TTY: kubelet reads the sizes and its runtime ignores them
        for (const size of this.#sizes.push(payload)) this.resize.push(size);
        if (this.#sizes.failure) return this.#protocolError(`channel 4 (resize): ${this.#sizes.failure}`);
        return;
      }
      case REMOTE_COMMAND_CHANNELS.stdout:
      case REMOTE_COMMAND_CHANNELS.stderr:
      case REMOTE_COMMAND_CHANNELS.error:
        return this.#protocolError(`data on channel ${channel} (${NAMES[channel]}), which only the server writes`);
      default:
        return this.#protocolError(
          `data on channel ${channel}, which does not exist (0 stdin, 1 stdout, 2 stderr, 3 error, 4 resize)`,
        );
    }
  }

  #protocolError(reason: string): void {
    this.#connection.protocolError(reason, () => {
      this.stdin?.discard();
      this.resize?.discard();
      const payload = protocolErrorPayload(reason, this.#connection.protocol.status);
      this.#connection.send(REMOTE_COMMAND_CHANNELS.error, payload).catch(() => {});
    });
  }
}
