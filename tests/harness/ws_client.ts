/**
 * Test clients for the WebSocket streaming transport.
 *
 * - `dialRemoteCommand` / `RemoteCommandClient`: a remote-command client that behaves as client-go's WebSocket
 *   executor does (kubernetes/kubernetes staging/src/k8s.io/client-go/tools/remotecommand/websocket.go, v4.go): it
 *   offers its subprotocols in order and checks the answer, reads channel-prefixed binary messages (a text message on a
 *   binary protocol is an error, an unknown channel is discarded), sends stdin, half-closes it with `[255, 0]`, sends
 *   terminal sizes as `json.Encoder` writes them, reads every stream to the connection's normal close and decodes the
 *   Status on channel 3 as `errorDecoderV4` does. It also speaks the base64 protocols.
 * - `dialPortForward` / `PortForwardClient`: a WebSocket port-forward client as the Kubernetes JavaScript and Python
 *   clients speak kubelet's protocol: the first two bytes of each channel are its port.
 * - `tryDial`: a handshake that may be refused, with the refusal's status and body.
 * - `FakeWebSocket`: an in-memory stand-in for a server-side `ws` WebSocket, for unit tests in src/ that must open no
 *   socket: it records what the session sends, delivers client messages, and drains its buffer when told.
 * @module
 */
import { Buffer } from "node:buffer";
import { EventEmitter } from "node:events";
import type { IncomingMessage } from "node:http";
import { decodeStatusV4, type ExitResult } from "./client_go.ts";
import { WebSocket } from "ws";

const STREAM_CLOSE = 255;

/** Everything the client saw of a remote command. */
export interface RemoteCommandResult {
  /** What client-go's `StreamWithContext` would return. */
  exit: ExitResult;
  /** The raw bytes of channel 3. */
  errorStream: Uint8Array;
  /** stdout and stderr, unless handlers consumed them. */
  stdout: Uint8Array;
  stderr: Uint8Array;
  /** The close code and reason the connection ended with. */
  closeCode: number;
  closeReason: string;
  /** The channel and length of the first message (kubelet's "ready" frame: empty, on the lowest output channel). */
  firstFrame: { channel: number; length: number } | undefined;
  /** Frames on channels client-go has no stream for, which it discards. */
  discarded: number[];
  /** Messages client-go would fail on (a text message on a binary protocol). */
  violations: string[];
}

/** What a remote-command client asks for. */
export interface RemoteCommandDial {
  /** Subprotocols to offer, most preferred first; client-go's `NewWebSocketExecutor` offers only v5. */
  protocols?: readonly string[];
  /** Takes stdout instead of collecting it. */
  onStdout?: (bytes: Uint8Array) => void;
  /** Takes stderr instead of collecting it. */
  onStderr?: (bytes: Uint8Array) => void;
  /** Accept any TLS certificate (a wss:// URL of a server with a self-signed one). */
  insecure?: boolean;
}

/** Opens a remote-command WebSocket to `url` (ws://…) the way client-go does. */
export async function dialRemoteCommand(url: string, dial: RemoteCommandDial = {}): Promise<RemoteCommandClient> {
  const ws = new WebSocket(url, [...(dial.protocols ?? ["v5.channel.k8s.io"])], {
    perMessageDeflate: false,
    ...(dial.insecure ? { rejectUnauthorized: false } : {}),
  });
  // Listening from the start: a message ws emits before our 'open' continuation runs would otherwise be lost.
  const client = new RemoteCommandClient(ws, dial);
  await opened(ws);
  return client;
}

/** A connected remote-command client (see the module documentation). */
export class RemoteCommandClient {
  /** The underlying `ws` client, for `pause()`/`resume()` and raw sends. */
  readonly ws: WebSocket;
  /** Resolves once the connection closed, with all the client saw. */
  readonly done: Promise<RemoteCommandResult>;

  /** Listens on `ws` (not yet open, so that no message goes by unheard). */
  constructor(ws: WebSocket, dial: RemoteCommandDial) {
    this.ws = ws;
    const stdout: Uint8Array[] = [];
    const stderr: Uint8Array[] = [];
    const errorStream: Uint8Array[] = [];
    const discarded: number[] = [];
    const violations: string[] = [];
    let firstFrame: RemoteCommandResult["firstFrame"];
    ws.on("message", (data: Buffer, isBinary: boolean) => {
      const frame = this.#decode(data, isBinary, violations);
      if (!frame) return;
      firstFrame ??= { channel: frame.channel, length: frame.payload.length };
      if (frame.channel === 1) (dial.onStdout ?? ((b) => stdout.push(b.slice())))(frame.payload);
      else if (frame.channel === 2) (dial.onStderr ?? ((b) => stderr.push(b.slice())))(frame.payload);
      else if (frame.channel === 3) errorStream.push(frame.payload.slice());
      else discarded.push(frame.channel); // "Unknown stream id %d, discarding message"
    });
    this.done = new Promise((resolve) => {
      ws.once("close", (code: number, reason: Buffer) => {
        const errorBytes = concat(errorStream);
        resolve({
          exit: decodeExit(code, reason.toString(), errorBytes, this.protocol),
          errorStream: errorBytes,
          stdout: concat(stdout),
          stderr: concat(stderr),
          closeCode: code,
          closeReason: reason.toString(),
          firstFrame,
          discarded,
          violations,
        });
      });
    });
  }

  /** Sends stdin bytes; resolves once `ws` handed them to the socket (client-go writes synchronously). */
  writeStdin(bytes: Uint8Array): Promise<void> {
    return this.sendChannel(0, bytes);
  }

  /** Half-closes stdin: client-go's `stream.Close()` sends the close signal `[255, 0]`. */
  closeStdin(): Promise<void> {
    return this.sendRaw(Uint8Array.of(STREAM_CLOSE, 0));
  }

  /** Sends a terminal size as client-go's `handleResizes` does: `json.Encoder` output, one message per size. */
  resize(width: number, height: number): Promise<void> {
    return this.sendChannel(4, new TextEncoder().encode(`${JSON.stringify({ Width: width, Height: height })}\n`));
  }

  /** Sends `bytes` on `channel`, framed per the protocol. */
  sendChannel(channel: number, bytes: Uint8Array): Promise<void> {
    if (this.#base64) return this.sendRaw(String.fromCharCode(48 + channel) + Buffer.from(bytes).toString("base64"));
    const frame = new Uint8Array(bytes.length + 1);
    frame[0] = channel;
    frame.set(bytes, 1);
    return this.sendRaw(frame);
  }

  /** Sends one message as it is: bytes as a binary message, a string as a text message. */
  sendRaw(message: Uint8Array | string): Promise<void> {
    return send(this.ws, message);
  }

  /** The subprotocol the server chose. */
  get protocol(): string {
    return this.ws.protocol;
  }

  get #base64(): boolean {
    return this.protocol.includes("base64");
  }

  /** Closes the connection abruptly, as a client that dies does. */
  kill(): void {
    this.ws.terminate();
  }

  #decode(data: Buffer, isBinary: boolean, violations: string[]) {
    if (this.#base64) {
      const text = data.toString("latin1");
      if (text.length === 0) return undefined;
      const payload = Buffer.from(text.slice(1), "base64");
      return { channel: text.charCodeAt(0) - 48, payload: new Uint8Array(payload) };
    }
    // "All remote command protocols send/receive only binary data messages."
    if (!isBinary) {
      violations.push(`text message on ${this.protocol}`);
      return undefined;
    }
    if (data.length === 0) return undefined;
    return { channel: data[0]!, payload: new Uint8Array(data.buffer, data.byteOffset + 1, data.length - 1) };
  }
}

/**
 * client-go's verdict: a close other than 1000 fails the error stream's read ("error reading from error stream");
 * otherwise an empty error stream is success, and a Status is decoded as `errorDecoderV4` does (v4, v5). The
 * unversioned protocols carry the failure message as plain text.
 */
export function decodeExit(code: number, reason: string, errorStream: Uint8Array, protocol: string): ExitResult {
  if (code !== 1000) {
    return {
      kind: "error",
      message: `error reading from error stream: next reader: websocket: close ${code} ${reason}`,
    };
  }
  const text = new TextDecoder().decode(errorStream);
  if (text.length === 0) return { kind: "success" };
  if (!protocol.startsWith("v4.") && !protocol.startsWith("v5.")) return { kind: "error", message: text };
  return decodeStatusV4(text);
}

/** What a port-forward client saw on one port. */
export interface PortStreams {
  /** The port number the server wrote at the start of the data and the error channel. */
  dataPort: number | undefined;
  errorPort: number | undefined;
  /** The bytes after the port prefix. */
  data: Uint8Array[];
  errors: string[];
}

/** A WebSocket port-forward client (see the module documentation). */
export class PortForwardClient {
  /** The underlying `ws` client. */
  readonly ws: WebSocket;
  /** Per port index: what arrived. */
  readonly streams: PortStreams[];
  /** Resolves with the close code and reason once the connection closed. */
  readonly done: Promise<{ code: number; reason: string }>;
  #listeners: (() => void)[] = [];

  /** Listens on `ws` (not yet open), which asks for `portCount` ports. */
  constructor(ws: WebSocket, portCount: number) {
    this.ws = ws;
    this.streams = Array.from({ length: portCount }, () => ({
      dataPort: undefined,
      errorPort: undefined,
      data: [],
      errors: [],
    }));
    ws.on("message", (data: Buffer) => {
      let channel: number;
      let payload: Uint8Array;
      if (this.#base64) {
        const text = data.toString("latin1");
        channel = text.charCodeAt(0) - 48;
        payload = new Uint8Array(Buffer.from(text.slice(1), "base64"));
      } else {
        channel = data[0]!;
        payload = new Uint8Array(data.subarray(1));
      }
      const stream = this.streams[Math.floor(channel / 2)];
      if (!stream) return;
      const isError = channel % 2 === 1;
      // "First two bytes of each stream are the port number."
      if (isError ? stream.errorPort === undefined : stream.dataPort === undefined) {
        const port = payload[0]! | (payload[1]! << 8);
        if (isError) stream.errorPort = port;
        else stream.dataPort = port;
        payload = payload.subarray(2);
      }
      if (payload.length === 0) return;
      if (isError) stream.errors.push(new TextDecoder().decode(payload));
      else stream.data.push(payload);
      for (const listener of this.#listeners.splice(0)) listener();
    });
    this.done = new Promise((resolve) => {
      ws.once("close", (code: number, reason: Buffer) => {
        for (const listener of this.#listeners.splice(0)) listener();
        resolve({ code, reason: reason.toString() });
      });
    });
  }

  /** The subprotocol the server chose. */
  get protocol(): string {
    return this.ws.protocol;
  }

  get #base64(): boolean {
    return this.protocol.includes("base64");
  }

  /** Sends `bytes` to port index `index` (its data channel, `2 * index`). */
  send(index: number, bytes: Uint8Array): Promise<void> {
    const channel = 2 * index;
    if (this.#base64) return send(this.ws, String.fromCharCode(48 + channel) + Buffer.from(bytes).toString("base64"));
    const frame = new Uint8Array(bytes.length + 1);
    frame[0] = channel;
    frame.set(bytes, 1);
    return send(this.ws, frame);
  }

  /** The text received so far on port index `index`'s data channel. */
  text(index: number): string {
    return new TextDecoder().decode(concat(this.streams[index]?.data ?? []));
  }

  /** Resolves once `predicate` holds (checked after each message) or the connection closed. */
  async until(predicate: () => boolean): Promise<void> {
    while (!predicate() && this.ws.readyState === WebSocket.OPEN) {
      await new Promise<void>((resolve) => this.#listeners.push(resolve));
    }
  }
}

/** Opens a port-forward WebSocket to `url`, which names `portCount` ports. */
export async function dialPortForward(
  url: string,
  portCount: number,
  protocols: readonly string[] = ["v4.channel.k8s.io"],
): Promise<PortForwardClient> {
  const ws = new WebSocket(url, [...protocols], { perMessageDeflate: false });
  const client = new PortForwardClient(ws, portCount);
  await opened(ws);
  return client;
}

/** The outcome of a handshake that may be refused. */
export type DialOutcome =
  | { ok: true; ws: WebSocket; protocol: string }
  | { ok: false; status: number; contentType: string | undefined; body: string };

/**
 * Tries a handshake with `protocols` (none: no header); a refusal gives its HTTP status and body. Made for refusals:
 * listen to an accepted `ws` only after the await, and it may already have emitted a message.
 */
export function tryDial(url: string, protocols: readonly string[], insecure = false): Promise<DialOutcome> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, [...protocols], {
      perMessageDeflate: false,
      ...(insecure ? { rejectUnauthorized: false } : {}),
    });
    ws.on("open", () => resolve({ ok: true, ws, protocol: ws.protocol }));
    ws.on("unexpected-response", (_req: unknown, res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        resolve({
          ok: false,
          status: res.statusCode ?? 0,
          contentType: res.headers["content-type"],
          body: Buffer.concat(chunks).toString(),
        });
        ws.terminate();
      });
    });
    ws.on("error", (err: Error) => reject(err));
  });
}

/** Resolves once `ws` is open; rejects if the handshake failed (or the server picked a subprotocol not offered). */
function opened(ws: WebSocket): Promise<void> {
  return new Promise((resolve, reject) => {
    ws.once("open", () => {
      ws.on("error", () => {}); // from now on the close event reports the end
      resolve();
    });
    ws.once("unexpected-response", (_req: unknown, res: IncomingMessage) => {
      ws.terminate();
      reject(new Error(`handshake refused: ${res.statusCode}`));
    });
    ws.once("error", (err: Error) => reject(err));
  });
}

/** Sends one message; resolves when `ws` handed it to the socket. */
function send(ws: WebSocket, message: Uint8Array | string): Promise<void> {
  return new Promise((resolve, reject) => {
    ws.send(message, { binary: typeof message !== "string" }, (err?: Error) => (err ? reject(err) : resolve()));
  });
}

/** All `chunks` in one array. */
export function concat(chunks: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** A frame a `FakeWebSocket` was sent, decoded for the channel protocols. */
export interface SentFrame {
  /** The raw message. */
  message: Uint8Array | string;
  /** Its channel (first byte, or first character minus '0' for text). */
  channel: number;
  /** Its payload (base64-decoded for text). */
  payload: Uint8Array;
}

/**
 * An in-memory server-side WebSocket with the surface the sessions use (`send` with a callback, `bufferedAmount`,
 * `pause`/`resume`, `close`/`terminate`, the `message`/`close`/`error`/`ping`/`pong` events). Sent frames count in
 * `bufferedAmount` until `drain()` (or, with `autoDrain`, the next microtask) calls their callbacks.
 */
export class FakeWebSocket extends EventEmitter {
  /** 1 open, 2 closing, 3 closed. */
  readyState = 1;
  /** Everything the session sent, in order. */
  readonly sent: SentFrame[] = [];
  /** The code and reason of the session's `close()`, if it called it. */
  closedWith: { code: number; reason: string } | undefined;
  /** True while the session has paused reading. */
  paused = false;
  /** True once `terminate()` was called. */
  terminated = false;
  /** Drain the buffer on the next microtask after each send. */
  autoDrain: boolean;
  #buffered = 0;
  #callbacks: { size: number; cb: ((err?: Error) => void) | undefined }[] = [];

  /** A fake that drains by itself unless `autoDrain` is false. */
  constructor(autoDrain = true) {
    super();
    this.autoDrain = autoDrain;
  }

  /** Bytes sent and not yet drained. */
  get bufferedAmount(): number {
    return this.#buffered;
  }

  /** Records `data`; `cb` runs when the buffer drains. */
  send(data: Uint8Array | string, _options: { binary?: boolean }, cb?: (err?: Error) => void): void {
    if (this.readyState !== 1) {
      queueMicrotask(() => cb?.(new Error(`WebSocket is not open: readyState ${this.readyState}`)));
      return;
    }
    const message = typeof data === "string" ? data : data.slice();
    const size = typeof data === "string" ? data.length : data.length;
    this.sent.push(decodeSent(message));
    this.#buffered += size;
    this.#callbacks.push({ size, cb });
    if (this.autoDrain) queueMicrotask(() => this.drain());
  }

  /** Calls the callbacks of everything sent so far, emptying the buffer. */
  drain(): void {
    for (const { size, cb } of this.#callbacks.splice(0)) {
      this.#buffered -= size;
      cb?.();
    }
  }

  /** Stops delivering (the test checks `paused`). */
  pause(): void {
    this.paused = true;
  }

  /** Resumes delivering. */
  resume(): void {
    this.paused = false;
  }

  /** The session closes: the fake client answers at once, so 'close' follows on the next microtask. */
  close(code = 1005, reason = ""): void {
    if (this.readyState !== 1) return;
    this.readyState = 2;
    this.closedWith = { code, reason };
    queueMicrotask(() => this.#closed(code, reason));
  }

  /** The session cuts the connection. */
  terminate(): void {
    this.terminated = true;
    if (this.readyState === 3) return;
    this.readyState = 2;
    queueMicrotask(() => this.#closed(1006, ""));
  }

  /** The client sends a message: bytes as binary, a string as text. */
  receive(message: Uint8Array | string): void {
    const isBinary = typeof message !== "string";
    this.emit("message", Buffer.from(message), isBinary);
  }

  /** The client sends `bytes` on `channel` in binary framing. */
  receiveOn(channel: number, bytes: Uint8Array | string = new Uint8Array(0)): void {
    const payload = typeof bytes === "string" ? new TextEncoder().encode(bytes) : bytes;
    const frame = new Uint8Array(payload.length + 1);
    frame[0] = channel;
    frame.set(payload, 1);
    this.receive(frame);
  }

  /** The client goes away: the connection closes with `code`. */
  drop(code = 1006, reason = ""): void {
    if (this.readyState === 3) return;
    this.readyState = 2;
    this.#closed(code, reason);
  }

  /** The payloads sent on `channel`, as text. */
  textOn(channel: number): string {
    return new TextDecoder().decode(concat(this.sent.filter((f) => f.channel === channel).map((f) => f.payload)));
  }

  #closed(code: number, reason: string): void {
    if (this.readyState === 3) return;
    this.readyState = 3;
    for (const { cb } of this.#callbacks.splice(0)) cb?.(new Error("closed"));
    this.#buffered = 0;
    this.emit("close", code, Buffer.from(reason));
  }
}

/** Splits a sent message into channel and payload. */
function decodeSent(message: Uint8Array | string): SentFrame {
  if (typeof message === "string") {
    return {
      message,
      channel: message.charCodeAt(0) - 48,
      payload: new Uint8Array(Buffer.from(message.slice(1), "base64")),
    };
  }
  return { message, channel: message[0] ?? -1, payload: message.subarray(1) };
}
