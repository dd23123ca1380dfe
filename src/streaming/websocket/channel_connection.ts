/**
 * One `ws` WebSocket carrying Kubernetes channel streams: writes with back-pressure, client messages decoded per the
 * negotiated protocol, reading paused while a reader lags, an idle timeout, and the ways a session ends — finished
 * (the last frame flushed, then a normal close), refused for a protocol error, or gone because the client left. The
 * remote-command and port-forward sessions are built on it.
 * @module
 */
import { Buffer } from "node:buffer";
import type { RawData, WebSocket } from "ws";
import { type ChannelMessage, decodeMessage, encodeFrame } from "./frames.ts";
import type { ChannelProtocol } from "./protocols.ts";

/** Limits and hooks a WebSocket session can be given; every field has a default. */
export interface WebSocketSessionTuning {
  /** Bytes `ws` may hold unsent (its `bufferedAmount`) before a write waits for the socket to drain; 1 MiB. */
  writeHighWaterBytes?: number;
  /** Bytes of client data held for a reader that lags before the socket stops being read; 1 MiB. */
  readHighWaterBytes?: number;
  /** Ends the session after this long without a message either way (kubelet's stream idle timeout); none. */
  idleTimeoutMs?: number;
  /**
   * How long finishing waits for the client to take the output still buffered before the status, then the close
   * frame; 15 minutes, the apiserver's `finishTimeout` (staging/src/k8s.io/apiserver/pkg/util/proxy/websocket.go).
   */
  finishTimeoutMs?: number;
  /** Told why, each time a client's message breaks the protocol and the session is ended for it (for the log). */
  onProtocolError?: (reason: string) => void;
}

/** The reason `closed` is aborted with, and what a write rejects with once the connection is gone. */
export class ConnectionClosedError extends Error {
  /** The WebSocket close code (1006 when the connection dropped without one). */
  readonly code: number;

  /** A closed connection, with its close code. */
  constructor(message: string, code: number) {
    super(message);
    this.name = "ConnectionClosedError";
    this.code = code;
  }
}

/** Close codes (RFC 6455 §7.4.1). */
export const CLOSE_NORMAL = 1000;
/** The server ends the session for inactivity. */
export const CLOSE_GOING_AWAY = 1001;
/** The client broke the channel protocol. */
export const CLOSE_PROTOCOL_ERROR = 1002;

const DEFAULT_HIGH_WATER = 1024 * 1024;
const DEFAULT_FINISH_TIMEOUT_MS = 15 * 60 * 1000;
const OPEN = 1; // WebSocket.OPEN
const CLOSED = 3; // WebSocket.CLOSED

/** What a session does with the connection's events. */
export interface ChannelHandlers {
  /** A client message, decoded (never called once the session is ending). */
  message(message: ChannelMessage): void;
  /** The connection closed, whoever closed it; called once. */
  closed(): void;
}

/** A WebSocket carrying channel streams (see the module documentation). */
export class ChannelConnection {
  /** The negotiated protocol. */
  readonly protocol: ChannelProtocol;
  /** Aborted, with a `ConnectionClosedError`, when the connection closes for any reason. */
  readonly closed: AbortSignal;
  readonly #ws: WebSocket;
  readonly #abort = new AbortController();
  readonly #done = Promise.withResolvers<void>();
  readonly #writeHighWater: number;
  readonly #readHighWater: number;
  readonly #finishTimeoutMs: number;
  readonly #onProtocolError: ((reason: string) => void) | undefined;
  readonly #holds = new Set<unknown>();
  readonly #waiters = new Set<(err: Error) => void>();
  readonly #drainWaiters: (() => void)[] = [];
  #sent = 0;
  #flushed = 0;
  #lastActivity = performance.now();
  #idleTimer: ReturnType<typeof setTimeout> | undefined;
  #ending = false;
  #lastError: Error | undefined;

  /** Takes over `ws`, which speaks `protocol`; `handlers` get its messages and its end. */
  constructor(ws: WebSocket, protocol: ChannelProtocol, tuning: WebSocketSessionTuning, handlers: ChannelHandlers) {
    this.#ws = ws;
    this.protocol = protocol;
    this.closed = this.#abort.signal;
    this.#writeHighWater = tuning.writeHighWaterBytes ?? DEFAULT_HIGH_WATER;
    this.#readHighWater = tuning.readHighWaterBytes ?? DEFAULT_HIGH_WATER;
    this.#finishTimeoutMs = tuning.finishTimeoutMs ?? DEFAULT_FINISH_TIMEOUT_MS;
    this.#onProtocolError = tuning.onProtocolError;

    const onClose = (code: number, reason: Buffer) => {
      clearTimeout(this.#idleTimer);
      const why = reason.length > 0 ? `: ${reason.toString()}` : "";
      const message = this.#ending
        ? `the session ended (close code ${code}${why})`
        : `the client went away (close code ${code}${why})${this.#lastError ? `; ${this.#lastError.message}` : ""}`;
      const error = new ConnectionClosedError(message, code);
      this.#abort.abort(error);
      for (const reject of [...this.#waiters]) reject(error);
      this.#waiters.clear();
      for (const wake of this.#drainWaiters.splice(0)) wake();
      handlers.closed();
      this.#done.resolve();
    };
    // An 'error' event without a listener would throw out of the socket's callback and end the process; ws emits
    // 'close' after it, which is where the session ends.
    ws.on("error", (err: Error) => this.#lastError = err);
    ws.on("ping", () => this.#touch());
    ws.on("pong", () => this.#touch());
    ws.on("message", (data: RawData) => {
      this.#touch();
      if (!this.#ending) handlers.message(decodeMessage(protocol.encoding, toBytes(data)));
    });
    if (ws.readyState === CLOSED) queueMicrotask(() => onClose(1006, Buffer.alloc(0)));
    else ws.once("close", onClose);
    if (tuning.idleTimeoutMs !== undefined) this.#armIdleTimer(tuning.idleTimeoutMs);
    ws.resume(); // acceptWebSocket hands the WebSocket over paused, so that no message went by unheard
  }

  /** The bound a reader's queue uses before it holds the socket back. */
  get readHighWaterBytes(): number {
    return this.#readHighWater;
  }

  /** True until the session started ending or the connection closed. */
  get open(): boolean {
    return !this.#ending && this.#ws.readyState === OPEN;
  }

  /**
   * Sends `payload` on `channel`. Resolves at once while `ws` holds at most the high-water mark unsent, else once this
   * frame reached the socket, so a writer that awaits each write never makes `ws` buffer more than the mark plus one
   * frame. Rejects once the connection is gone.
   */
  send(channel: number, payload: Uint8Array): Promise<void> {
    if (this.#ws.readyState !== OPEN) {
      const reason = this.closed.reason;
      return Promise.reject(
        reason instanceof Error ? reason : new ConnectionClosedError("the connection is closing", 1006),
      );
    }
    const frame = encodeFrame(this.protocol.encoding, channel, payload);
    this.#touch();
    const sequence = ++this.#sent;
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      const settle = (err?: Error) => {
        if (settled) return;
        settled = true;
        this.#waiters.delete(settle);
        if (err) reject(err);
        else resolve();
      };
      this.#ws.send(frame, { binary: typeof frame !== "string" }, (err?: Error) => {
        // Frames leave in order, so this one's callback means every earlier frame left too.
        this.#flushed = Math.max(this.#flushed, sequence);
        if (this.#flushed === this.#sent) { for (const wake of this.#drainWaiters.splice(0)) wake(); }
        if (!err) settle();
        // The socket failed, and ws closes the connection next: reject with the reason `closed` will carry.
        else if (this.closed.aborted) settle(this.closed.reason as Error);
        else this.#waiters.add(settle);
      });
      if (settled) return;
      if (this.#ws.bufferedAmount <= this.#writeHighWater) settle();
      else this.#waiters.add(settle);
    });
  }

  /** Stops reading the socket while `key` holds it (a reader lagging behind); reading resumes when no key holds it. */
  hold(key: unknown, on: boolean): void {
    const before = this.#holds.size;
    if (on) this.#holds.add(key);
    else this.#holds.delete(key);
    if (this.#ending) return;
    if (before === 0 && this.#holds.size > 0) this.#ws.pause();
    else if (before > 0 && this.#holds.size === 0) this.#ws.resume();
  }

  /**
   * Ends the session normally: sends `last` (the status), waits until everything written reached the socket (at most
   * `finishTimeoutMs`, then the connection is cut), closes with 1000 and waits for the close to complete. Closing only
   * after the output left keeps a slow client from losing the end of it (the apiserver's `finish` in
   * util/proxy/websocket.go); `ws` then waits for the client's close frame for 30 s at most.
   */
  async finish(last?: { channel: number; payload: Uint8Array }): Promise<void> {
    if (this.open) {
      this.#ending = true;
      this.#resumeForClose();
      if (last) this.send(last.channel, last.payload).catch(() => {}); // a failure shows as the close
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timedOut = new Promise<boolean>((resolve) =>
        timer = setTimeout(() => resolve(true), this.#finishTimeoutMs)
      );
      const late = await Promise.race([this.#drained().then(() => false), timedOut]);
      clearTimeout(timer);
      if (late) this.#ws.terminate();
      else if (this.#ws.readyState === OPEN) this.#ws.close(CLOSE_NORMAL);
    }
    await this.#done.promise;
  }

  /** Resolves once every frame sent so far reached the socket, or the connection closed. */
  #drained(): Promise<void> {
    if (this.#flushed === this.#sent || this.#ws.readyState === CLOSED) return Promise.resolve();
    return new Promise((resolve) => this.#drainWaiters.push(resolve));
  }

  /**
   * Ends the session because the client broke the protocol: tells `onProtocolError`, runs `beforeClose` (which may
   * still send, e.g. a Status), and closes with 1002 and `reason` (cut to the 123 bytes a close frame allows).
   */
  protocolError(reason: string, beforeClose?: () => void): void {
    if (!this.open) return;
    this.#onProtocolError?.(reason);
    beforeClose?.();
    this.close(CLOSE_PROTOCOL_ERROR, reason);
  }

  /** Closes with `code` and `reason` without waiting for anything; resolves once the connection has closed. */
  close(code = CLOSE_NORMAL, reason = ""): Promise<void> {
    if (this.open) {
      this.#ending = true;
      this.#resumeForClose();
      this.#ws.close(code, closeReason(reason));
    }
    return this.#done.promise;
  }

  // Reading must go on for the client's close frame to arrive, whatever reader lags.
  #resumeForClose(): void {
    if (this.#holds.size > 0) this.#ws.resume();
    this.#holds.clear();
  }

  #touch(): void {
    this.#lastActivity = performance.now();
  }

  #armIdleTimer(timeoutMs: number): void {
    const check = () => {
      const idle = performance.now() - this.#lastActivity;
      if (idle < timeoutMs) {
        this.#idleTimer = setTimeout(check, timeoutMs - idle);
        return;
      }
      // kubelet's idle timeout is a deadline on the connection: its read loop ends and the connection closes.
      this.close(CLOSE_GOING_AWAY, `idle for ${timeoutMs} ms`);
    };
    this.#idleTimer = setTimeout(check, timeoutMs);
  }
}

/** The bytes of a `ws` message, whatever `binaryType` produced. */
function toBytes(data: RawData): Uint8Array {
  if (Array.isArray(data)) return Buffer.concat(data);
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return data;
}

/** `reason` cut, on a character boundary, to the 123 bytes of UTF-8 a close frame can carry (RFC 6455 §5.5). */
export function closeReason(reason: string): string {
  let cut = reason;
  while (Buffer.byteLength(cut) > 123) cut = cut.slice(0, -1);
  return cut;
}
