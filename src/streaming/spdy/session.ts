/**
 * One SPDY/3 connection after the HTTP 101, as moby/spdystream's `Connection` runs it for kubelet (connection.go,
 * stream.go): streams opened by the peer are handed out unreplied, the consumer accepts (SYN_REPLY) or resets each;
 * DATA flows both ways with FIN half-closes; RST_STREAM, PING, GOAWAY and SETTINGS are handled as spdystream does.
 *
 * Flow control: spdystream implements none. It never sends WINDOW_UPDATE, and a WINDOW_UPDATE or SETTINGS it receives
 * falls to the "unhandled frame type" branch of its frame handler and is dropped (connection.go Serve/frameHandler).
 * So this session neither enforces send windows (a 64 KiB window would stall at once, as nobody ever opens it) nor
 * sends WINDOW_UPDATE. Both directions are held back by TCP instead:
 * - writes resolve only once the socket took the bytes below its high-water mark ('drain'), so a slow client stops
 *   the writer, as spdystream's blocking `conn.Write` stops Go writers;
 * - a stream whose consumer lags buffers up to `streamHighWaterMark`, then the session stops reading the socket until
 *   it catches up, as spdystream's frame workers block on a stream's unbuffered data channel (handleDataFrame).
 * @module
 */

import { Buffer } from "node:buffer";
import type { Duplex } from "node:stream";
import { AsyncQueue } from "../async_queue.ts";
import { SpdyClosedError, SpdyProtocolError } from "./errors.ts";
import {
  type DataPiece,
  encodeFrame,
  Flag,
  FRAME_HEADER_SIZE,
  FrameParser,
  type GoAwayFrame,
  GoAwayStatus,
  type ParsedFrame,
  type PingFrame,
  RstStatus,
  type RstStreamFrame,
  type SynReplyFrame,
  type SynStreamFrame,
  writeDataHeader,
} from "./frames.ts";
import { decodeHeaderBlock, encodeHeaderBlock, headerValue, type SpdyHeaders } from "./header_block.ts";
import { HeaderCompressor, HeaderDecompressor } from "./header_compression.ts";

/** Options of {@link SpdySession}. */
export interface SpdySessionOptions {
  /** `server` accepts odd stream IDs and opens even ones (spdystream `NewConnection(conn, true)`); default server. */
  role?: "server" | "client";
  /** Bytes that arrived with the HTTP request, after its headers (the `head` of node:http's 'upgrade'). */
  initialBytes?: Uint8Array;
  /** Bytes a stream buffers for a slow consumer before the session stops reading the socket; default 1 MiB. */
  streamHighWaterMark?: number;
  /** Streams open at once; more are refused with RST_STREAM REFUSED_STREAM. Default 1000. */
  maxConcurrentStreams?: number;
  /** Ends the session after this long without a frame either way (kubelet's stream idle timeout); 0 = never. */
  idleTimeoutMs?: number;
}

/** Largest DATA payload sent in one frame (a longer write is split). */
const MAX_DATA_FRAME_SIZE = 256 * 1024;
/** After our GOAWAY and FIN, how long the peer gets to close before the socket is destroyed. */
const CLOSE_TIMEOUT_MS = 5000;
/** How long {@link SpdySession.openStream} waits for SYN_REPLY (client-go's createStreamResponseTimeout). */
const REPLY_TIMEOUT_MS = 30_000;

// Everything a stream asks of its session.
interface StreamOwner {
  accept(state: StreamState): void;
  reset(state: StreamState, status: number): void;
  write(state: StreamState, chunk: Uint8Array): Promise<void>;
  end(state: StreamState): Promise<void>;
}

// The session's record of one stream.
class StreamState {
  readonly id: number;
  readonly headers: SpdyHeaders;
  /** Whether this side opened it. */
  readonly local: boolean;
  /**
   * The peer's bytes the reader has not taken. Over its high-water mark the session stops reading the socket, as
   * spdystream's frame workers block on a stream's unbuffered data channel (connection.go handleDataFrame): the peer
   * is held back by TCP, and no side buffers without bound.
   */
  readonly queue: AsyncQueue<Uint8Array>;
  /** The queue's one reader, made on first use. */
  reader: AsyncIterableIterator<Uint8Array> | undefined;
  readonly controller = new AbortController();
  /** Our SYN_REPLY (peer's stream) or SYN_STREAM (ours): undefined until sent, settled once on the wire. */
  headersOut: Promise<void> | undefined;
  headersWritten = false;
  /** Whether the peer replied to our SYN_STREAM. */
  replied = false;
  replyWaiter: { resolve: () => void; reject: (err: Error) => void } | undefined;
  /** We sent (or will send) FIN, or the stream was reset. */
  localEnded = false;
  /** The peer sent FIN, or the stream was reset. */
  remoteEnded = false;
  reset = false;

  constructor(
    id: number,
    headers: SpdyHeaders,
    local: boolean,
    highWaterMark: number,
    onPressure: (over: boolean) => void,
  ) {
    this.id = id;
    this.headers = headers;
    this.local = local;
    this.queue = new AsyncQueue<Uint8Array>({ weigh: (chunk) => chunk.length, highWater: highWaterMark, onPressure });
  }
}

/**
 * One stream of a {@link SpdySession}: the peer's bytes as an async iterable (ending at its FIN or reset), and
 * writes and FIN the other way. A stream the peer opened must be accepted or reset.
 */
export class SpdyStream implements AsyncIterable<Uint8Array> {
  readonly #state: StreamState;
  readonly #owner: StreamOwner;

  /** Created by the session only. */
  constructor(state: StreamState, owner: StreamOwner) {
    this.#state = state;
    this.#owner = owner;
  }

  /** The stream ID (odd when the client opened it). */
  get id(): number {
    return this.#state.id;
  }

  /** The headers of the SYN_STREAM that opened it. */
  get headers(): SpdyHeaders {
    return this.#state.headers;
  }

  /** The first value of header `name`, as Go's `Header.Get`. */
  header(name: string): string | undefined {
    return headerValue(this.#state.headers, name);
  }

  /** Aborted when the stream is over: FIN both ways, a reset either way, or the session's end. */
  get closed(): AbortSignal {
    return this.#state.controller.signal;
  }

  /** Bytes from the peer buffered for the reader and not yet taken. */
  get buffered(): number {
    return this.#state.queue.weight;
  }

  /** Accepts a stream the peer opened: sends SYN_REPLY (empty headers, no FIN, as kubelet's newSpdyStream). Idempotent. */
  accept(): void {
    this.#owner.accept(this.#state);
  }

  /**
   * Ends the stream both ways with RST_STREAM (default CANCEL, what spdystream's `Stream.Reset` sends); buffered and
   * later bytes from the peer are dropped. No-op on a stream already over.
   */
  reset(status: number = RstStatus.CANCEL): void {
    this.#owner.reset(this.#state, status);
  }

  /**
   * Sends bytes in DATA frames; resolves once the socket took them (back-pressure). Bytes written after this side's
   * FIN, after a reset, or after the session ended are dropped: watch {@link SpdyStream.closed}.
   */
  write(chunk: Uint8Array): Promise<void> {
    return this.#owner.write(this.#state, chunk);
  }

  /** Half-closes this side: an empty DATA frame with FIN, as spdystream's `Stream.Close`. Idempotent. */
  end(): Promise<void> {
    return this.#owner.end(this.#state);
  }

  /** The peer's bytes, for one reader; stopping early drops the rest. */
  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    return this.#state.reader ??= this.#state.queue[Symbol.asyncIterator]();
  }
}

/** The server (or, for tests, client) side of one SPDY/3 connection over a socket. */
export class SpdySession {
  readonly #socket: Duplex;
  readonly #role: "server" | "client";
  readonly #highWaterMark: number;
  readonly #maxConcurrentStreams: number;
  readonly #idleTimeoutMs: number;
  readonly #parser = new FrameParser();
  readonly #compressor = new HeaderCompressor();
  readonly #decompressor = new HeaderDecompressor();
  readonly #streams = new Map<number, StreamState>();
  // Bounded by max_concurrent_streams: a stream over it is refused before it is queued.
  readonly #incoming = new AsyncQueue<SpdyStream>({ highWater: Infinity });
  readonly #incomingReader = this.#incoming[Symbol.asyncIterator]();
  readonly #controller = new AbortController();
  readonly #owner: StreamOwner;
  #lastPeerStreamId = 0;
  #nextStreamId: number;
  #nextPingId: number;
  readonly #pings = new Map<number, { resolve: (ms: number) => void; reject: (err: Error) => void; start: number }>();
  #peerGoneAway = false;
  #goingAway = false;
  #socketEnded = false;
  #done = false;
  #failed = false;
  // Header blocks are compressed in order and must reach the wire in that order; other control frames queue behind.
  #chain: Promise<void> = Promise.resolve();
  #chainPending = 0;
  #needDrain = false;
  #drainWaiters: Array<() => void> = [];
  // Parsed frames not yet handled, while a header block inflates.
  #inbox: ParsedFrame[] = [];
  #inboxAt = 0;
  #waitingAsync = false;
  readonly #congested = new Set<StreamState>();
  #paused = false;
  #lastActivity = Date.now();
  #idleTimer: ReturnType<typeof setTimeout> | undefined;
  #closeTimer: ReturnType<typeof setTimeout> | undefined;
  #closePromise: Promise<void> | undefined;
  readonly #socketClosed: Promise<void>;
  #resolveSocketClosed: () => void = () => {};

  /** Takes over `socket` (already switched to SPDY) and starts reading it. */
  constructor(socket: Duplex, options: SpdySessionOptions = {}) {
    this.#socket = socket;
    this.#role = options.role ?? "server";
    this.#highWaterMark = options.streamHighWaterMark ?? 1 << 20;
    this.#maxConcurrentStreams = options.maxConcurrentStreams ?? 1000;
    this.#idleTimeoutMs = options.idleTimeoutMs ?? 0;
    // spdystream NewConnection: a server opens even streams and pings with even IDs, a client odd ones.
    this.#nextStreamId = this.#role === "server" ? 2 : 1;
    this.#nextPingId = this.#role === "server" ? 2 : 1;
    this.#owner = {
      accept: (state) => this.#accept(state),
      reset: (state, status) => this.#resetStream(state, status),
      write: (state, chunk) => this.#write(state, chunk),
      end: (state) => this.#end(state),
    };
    this.#socketClosed = new Promise((resolve) => this.#resolveSocketClosed = resolve);
    socket.on("error", (err: Error) => this.#terminate(err));
    socket.on("close", () => this.#terminate(new SpdyClosedError("SPDY connection closed")));
    socket.on("end", () => this.#onPeerEnd());
    socket.on("drain", () => this.#releaseDrainWaiters());
    socket.on("data", (chunk: Uint8Array) => this.#onData(chunk));
    if (this.#idleTimeoutMs > 0) this.#armIdleTimer(this.#idleTimeoutMs);
    if (socket.destroyed) {
      this.#terminate(new SpdyClosedError("SPDY connection closed"));
      return;
    }
    if (options.initialBytes && options.initialBytes.length > 0) this.#onData(options.initialBytes);
    // node:http hands over the upgraded socket paused; stay paused if the initial bytes already filled a stream or
    // started inflating a header block.
    if (!this.#paused) socket.resume();
  }

  /** Streams the peer opens, unreplied: accept or reset each. Ends with the session. One consumer. */
  get streams(): AsyncIterableIterator<SpdyStream> {
    return this.#incomingReader;
  }

  /** Aborted when the session ends (its reason tells why: a {@link SpdyProtocolError} for bad input). */
  get closed(): AbortSignal {
    return this.#controller.signal;
  }

  /** Tells whether reading the socket is paused (a consumer lags, or a header block is inflating). */
  get readingPaused(): boolean {
    return this.#paused;
  }

  /** Streams open now. */
  get openStreams(): number {
    return this.#streams.size;
  }

  /**
   * Opens a stream (what client-go's `CreateStream` does): sends SYN_STREAM and resolves once the peer replied, or
   * rejects on reset, timeout or the session's end.
   */
  async openStream(headers: SpdyHeaders): Promise<SpdyStream> {
    if (this.#done || this.#goingAway || this.#peerGoneAway) throw new SpdyClosedError("SPDY session is closing");
    const id = this.#nextStreamId;
    this.#nextStreamId += 2;
    const state = this.#newState(id, headers, true);
    this.#streams.set(id, state);
    const replied = new Promise<void>((resolve, reject) => state.replyWaiter = { resolve, reject });
    state.headersOut = this.#sendHeaderFrame(headers, (headerBlock): Uint8Array =>
      encodeFrame({
        type: "syn_stream",
        flags: 0,
        streamId: id,
        associatedStreamId: 0,
        priority: 0,
        slot: 0,
        headerBlock,
      })).then(() => {
        state.headersWritten = true;
      });
    state.headersOut.catch(() => {});
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new SpdyClosedError(`No SYN_REPLY for stream ${id}`)), REPLY_TIMEOUT_MS);
    });
    try {
      await Promise.race([replied, timeout]);
    } catch (err) {
      this.#resetStream(state, RstStatus.CANCEL);
      throw err;
    } finally {
      clearTimeout(timer);
    }
    return new SpdyStream(state, this.#owner);
  }

  /** Sends PING and resolves with the round trip in milliseconds. */
  ping(): Promise<number> {
    if (this.#done || this.#socketEnded) return Promise.reject(new SpdyClosedError("SPDY session is closed"));
    const id = this.#nextPingId;
    this.#nextPingId = this.#nextPingId > 0x7ffffffe ? this.#nextPingId - 0x7ffffffe : this.#nextPingId + 2;
    return new Promise((resolve, reject) => {
      this.#pings.set(id, { resolve, reject, start: performance.now() });
      this.#sendControl(encodeFrame({ type: "ping", id }));
    });
  }

  /**
   * Ends the session: open streams end (their `closed` aborts), GOAWAY goes out after what was already written, then
   * our FIN; resolves when the socket closed (the peer closes, or `closeTimeoutMs` later it is destroyed).
   */
  close(reason: Error = new SpdyClosedError("SPDY session closed")): Promise<void> {
    if (!this.#closePromise) {
      this.#closePromise = this.#socketClosed;
      if (!this.#done) {
        this.#goAway(GoAwayStatus.OK);
        this.#abortAll(reason);
        this.#endSocket();
      }
    }
    return this.#closePromise;
  }

  /** Destroys the socket at once, without GOAWAY. */
  destroy(reason: Error = new SpdyClosedError("SPDY session destroyed")): void {
    this.#terminate(reason);
  }

  // ---- reading ----

  #onData(chunk: Uint8Array): void {
    if (this.#failed || this.#done) return;
    this.#lastActivity = Date.now();
    let frames: ParsedFrame[];
    try {
      frames = this.#parser.push(chunk);
    } catch (err) {
      this.#fail(err);
      return;
    }
    if (frames.length === 0) return;
    if (this.#inboxAt >= this.#inbox.length) {
      this.#inbox = frames;
      this.#inboxAt = 0;
    } else for (const frame of frames) this.#inbox.push(frame);
    this.#pump();
  }

  // Handles queued frames in order; stops (and pauses reading) while a header block inflates.
  #pump(): void {
    if (this.#waitingAsync) return;
    while (this.#inboxAt < this.#inbox.length) {
      if (this.#failed || this.#done) break;
      const frame = this.#inbox[this.#inboxAt++]!;
      let pending: Promise<void> | undefined;
      try {
        pending = this.#handle(frame);
      } catch (err) {
        this.#fail(err);
        return;
      }
      if (pending) {
        this.#waitingAsync = true;
        this.#updateReading();
        pending.then(() => {
          this.#waitingAsync = false;
          this.#pump();
        }, (err) => this.#fail(err));
        return;
      }
    }
    this.#inbox = [];
    this.#inboxAt = 0;
    this.#updateReading();
  }

  #handle(frame: ParsedFrame): Promise<void> | undefined {
    switch (frame.type) {
      case "data":
        this.#onDataFrame(frame);
        return undefined;
      case "syn_stream":
        return this.#onSynStream(frame);
      case "syn_reply":
        return this.#onSynReply(frame);
      case "headers":
        // Kubernetes sends no HEADERS frames; the block must still be inflated to keep the context in step.
        return this.#decompressor.decompress(frame.headerBlock).then((block) => {
          decodeHeaderBlock(block);
          const state = this.#streams.get(frame.streamId);
          if (state && frame.flags & Flag.FIN) this.#remoteFinished(state);
        });
      case "rst_stream":
        this.#onRstStream(frame);
        return undefined;
      case "ping":
        this.#onPing(frame);
        return undefined;
      case "goaway":
        this.#onGoAway(frame);
        return undefined;
      case "settings":
      case "window_update":
      case "unknown":
        // spdystream records SETTINGS without acting on them and drops WINDOW_UPDATE as an unhandled frame type;
        // draft 3 says to ignore unknown control frames.
        return undefined;
    }
  }

  #onDataFrame(frame: DataPiece): void {
    const state = this.#streams.get(frame.streamId);
    // spdystream drops DATA for a stream it does not know, or one of its own not yet replied (handleDataFrame).
    if (!state || state.remoteEnded || (state.local && !state.replied)) return;
    if (frame.data.length > 0) state.queue.push(frame.data);
    if (frame.last && frame.flags & Flag.FIN) this.#remoteFinished(state);
  }

  async #onSynStream(frame: SynStreamFrame): Promise<void> {
    // Inflate first, even for a stream about to be refused: the peer's compression context moved on.
    const headers = decodeHeaderBlock(await this.#decompressor.decompress(frame.headerBlock));
    if (this.#done || this.#failed) return;
    const id = frame.streamId;
    const peerParity = this.#role === "server" ? 1 : 0;
    if (id % 2 !== peerParity || id <= this.#lastPeerStreamId) {
      // spdystream checkStreamFrame: an ID that does not increase gets RST_STREAM PROTOCOL_ERROR.
      this.#sendControl(encodeFrame({ type: "rst_stream", streamId: id, status: RstStatus.PROTOCOL_ERROR }));
      return;
    }
    this.#lastPeerStreamId = id;
    if (this.#peerGoneAway || this.#goingAway || this.#streams.size >= this.#maxConcurrentStreams) {
      this.#sendControl(encodeFrame({ type: "rst_stream", streamId: id, status: RstStatus.REFUSED_STREAM }));
      return;
    }
    const state = this.#newState(id, headers, false);
    // spdystream addStreamFrame: FIN means the peer sends nothing; UNIDIRECTIONAL means we may send nothing.
    if (frame.flags & Flag.UNIDIRECTIONAL) state.localEnded = true;
    this.#streams.set(id, state);
    if (frame.flags & Flag.FIN) this.#remoteFinished(state);
    if (!this.#incoming.push(new SpdyStream(state, this.#owner))) this.#resetStream(state, RstStatus.REFUSED_STREAM);
  }

  async #onSynReply(frame: SynReplyFrame): Promise<void> {
    decodeHeaderBlock(await this.#decompressor.decompress(frame.headerBlock));
    const state = this.#streams.get(frame.streamId);
    // spdystream handleReplyFrame: a reply for a stream gone, or a second reply, is ignored.
    if (!state || !state.local || state.replied) return;
    state.replied = true;
    state.replyWaiter?.resolve();
    state.replyWaiter = undefined;
    if (frame.flags & Flag.FIN) this.#remoteFinished(state);
  }

  #onRstStream(frame: RstStreamFrame): void {
    const state = this.#streams.get(frame.streamId);
    if (!state) return;
    // spdystream handleResetFrame: the reader gets EOF, an unreplied opener gets ErrReset.
    state.reset = true;
    state.localEnded = true;
    state.remoteEnded = true;
    state.queue.end();
    const reason = new SpdyClosedError(`Stream ${state.id} reset by the peer (status ${frame.status})`);
    state.replyWaiter?.reject(reason);
    state.replyWaiter = undefined;
    this.#removeStream(state, reason);
  }

  #onPing(frame: PingFrame): void {
    // spdystream handlePingFrame: a PING of the peer's parity is echoed, one of ours is an answer.
    const ours = this.#role === "server" ? 0 : 1;
    if ((frame.id & 1) !== ours) {
      this.#sendControl(encodeFrame({ type: "ping", id: frame.id }));
      return;
    }
    const waiter = this.#pings.get(frame.id);
    if (!waiter) return;
    this.#pings.delete(frame.id);
    waiter.resolve(performance.now() - waiter.start);
  }

  #onGoAway(_frame: GoAwayFrame): void {
    // The peer opens no more streams; the ones open may finish, then the session ends (spdystream shutdown()).
    this.#peerGoneAway = true;
    if (this.#streams.size === 0) void this.close();
  }

  #onPeerEnd(): void {
    // The peer sent FIN on the socket: it will send no more frames, so every stream's input ends and so does the
    // session (spdystream's Serve loop ends at EOF and closes every stream's channels).
    this.#terminate(new SpdyClosedError("The peer closed the SPDY connection"), { graceful: true });
  }

  #remoteFinished(state: StreamState): void {
    state.remoteEnded = true;
    state.queue.end();
    if (state.localEnded) this.#removeStream(state, new SpdyClosedError(`Stream ${state.id} closed`));
  }

  #newState(id: number, headers: SpdyHeaders, local: boolean): StreamState {
    const state: StreamState = new StreamState(id, headers, local, this.#highWaterMark, (over) => {
      if (over) this.#congested.add(state);
      else this.#congested.delete(state);
      this.#updateReading();
    });
    return state;
  }

  #removeStream(state: StreamState, reason: Error): void {
    if (this.#streams.get(state.id) === state) this.#streams.delete(state.id);
    if (this.#congested.delete(state)) this.#updateReading();
    state.controller.abort(reason);
    if (this.#peerGoneAway && this.#streams.size === 0 && !this.#done) void this.close();
  }

  #updateReading(): void {
    if (this.#done) return;
    const pause = this.#waitingAsync || this.#congested.size > 0;
    if (pause === this.#paused) return;
    this.#paused = pause;
    if (pause) this.#socket.pause();
    else this.#socket.resume();
  }

  // ---- writing ----

  #accept(state: StreamState): void {
    if (state.local || state.headersOut || state.reset || this.#done) return;
    state.headersOut = this.#sendHeaderFrame(new Map(), (headerBlock): Uint8Array =>
      // kubelet's newSpdyStream: stream.SendReply(http.Header{}, false).
      encodeFrame({ type: "syn_reply", flags: 0, streamId: state.id, headerBlock })).then(() => {
        state.headersWritten = true;
      });
    state.headersOut.catch(() => {});
  }

  #resetStream(state: StreamState, status: number): void {
    if (state.reset || this.#streams.get(state.id) !== state) return;
    state.reset = true;
    state.localEnded = true;
    state.remoteEnded = true;
    state.queue.discard();
    this.#sendControl(encodeFrame({ type: "rst_stream", streamId: state.id, status }));
    this.#removeStream(state, new SpdyClosedError(`Stream ${state.id} reset (status ${status})`));
  }

  async #write(state: StreamState, chunk: Uint8Array): Promise<void> {
    if (chunk.length === 0 || state.localEnded || this.#done) return;
    if (!state.headersWritten) {
      // Data before our SYN_REPLY would be dropped by spdystream ("Data frame not replied"): wait for it.
      if (!state.headersOut) this.#accept(state);
      await state.headersOut?.catch(() => {});
      if (!state.headersWritten) return;
    }
    if (state.reset) return;
    let ok = true;
    for (let offset = 0; offset < chunk.length; offset += MAX_DATA_FRAME_SIZE) {
      const piece = chunk.subarray(offset, offset + MAX_DATA_FRAME_SIZE);
      const frame = Buffer.allocUnsafe(FRAME_HEADER_SIZE + piece.length);
      writeDataHeader(frame, state.id, 0, piece.length);
      frame.set(piece, FRAME_HEADER_SIZE);
      ok = this.#writeRaw(frame);
    }
    if (!ok) await this.#waitDrain();
  }

  async #end(state: StreamState): Promise<void> {
    if (state.localEnded || this.#done) return;
    state.localEnded = true;
    if (!state.headersWritten) {
      if (!state.headersOut) this.#accept(state);
      await state.headersOut?.catch(() => {});
      if (!state.headersWritten) return;
    }
    if (state.reset) return;
    const frame = new Uint8Array(FRAME_HEADER_SIZE);
    writeDataHeader(frame, state.id, Flag.FIN, 0);
    const ok = this.#writeRaw(frame);
    if (state.remoteEnded) this.#removeStream(state, new SpdyClosedError(`Stream ${state.id} closed`));
    if (!ok) await this.#waitDrain();
  }

  // Compresses the block in turn and writes the frame `build` makes of it; resolves once written.
  #sendHeaderFrame(headers: SpdyHeaders, build: (headerBlock: Uint8Array) => Uint8Array): Promise<void> {
    const block = encodeHeaderBlock(headers);
    return this.#enqueue(async () => {
      if (this.#socketEnded || this.#done) throw new SpdyClosedError("SPDY session is closed");
      const compressed = await this.#compressor.compress(block);
      if (this.#socketEnded || this.#done) throw new SpdyClosedError("SPDY session is closed");
      this.#writeRaw(build(compressed));
    });
  }

  // Writes a control frame now, or behind the header frames still being compressed.
  #sendControl(frame: Uint8Array): void {
    if (this.#chainPending === 0) this.#writeRaw(frame);
    else void this.#enqueue(() => this.#writeRaw(frame)).catch(() => {});
  }

  #enqueue(task: () => unknown): Promise<void> {
    this.#chainPending++;
    const run = this.#chain.then(task).then(() => {}).finally(() => this.#chainPending--);
    this.#chain = run.catch(() => {});
    return run;
  }

  #writeRaw(frame: Uint8Array): boolean {
    if (this.#socketEnded || this.#done) return true;
    this.#lastActivity = Date.now();
    const ok = this.#socket.write(frame);
    if (!ok) this.#needDrain = true;
    return ok;
  }

  #waitDrain(): Promise<void> {
    if (!this.#needDrain || this.#done) return Promise.resolve();
    return new Promise((resolve) => this.#drainWaiters.push(resolve));
  }

  #releaseDrainWaiters(): void {
    this.#needDrain = false;
    const waiters = this.#drainWaiters;
    this.#drainWaiters = [];
    for (const resolve of waiters) resolve();
  }

  #goAway(status: number): void {
    if (this.#goingAway || this.#done) return;
    this.#goingAway = true;
    this.#sendControl(encodeFrame({ type: "goaway", lastGoodStreamId: this.#lastPeerStreamId, status }));
  }

  // FIN on the socket once queued frames are out; destroys it if the peer does not close in time.
  #endSocket(): void {
    void this.#enqueue(() => {
      if (this.#socketEnded || this.#done) return;
      this.#socketEnded = true;
      this.#socket.end();
    }).catch(() => {});
    if (!this.#closeTimer && !this.#done) {
      this.#closeTimer = setTimeout(() => this.#socket.destroy(), CLOSE_TIMEOUT_MS);
    }
  }

  // ---- ending ----

  // Malformed input: GOAWAY(PROTOCOL_ERROR) and the end of the session (draft 3 §2.4.1).
  #fail(err: unknown): void {
    if (this.#failed || this.#done) return;
    this.#failed = true;
    const reason = err instanceof Error ? err : new SpdyProtocolError("bad-field", String(err));
    this.#inbox = [];
    this.#inboxAt = 0;
    this.#goAway(err instanceof SpdyProtocolError ? GoAwayStatus.PROTOCOL_ERROR : GoAwayStatus.INTERNAL_ERROR);
    this.#abortAll(reason);
    this.#endSocket();
    this.#closePromise ??= this.#socketClosed;
  }

  // Ends every stream and the incoming queue, and aborts `closed`, without touching the socket.
  #abortAll(reason: Error): void {
    if (!this.#controller.signal.aborted) this.#controller.abort(reason);
    this.#incoming.end();
    for (const stream of this.#incoming.drain()) stream.reset(RstStatus.REFUSED_STREAM);
    for (const state of [...this.#streams.values()]) {
      state.localEnded = true;
      state.remoteEnded = true;
      state.queue.end();
      state.replyWaiter?.reject(reason);
      state.replyWaiter = undefined;
      this.#removeStream(state, reason);
    }
    for (const waiter of this.#pings.values()) waiter.reject(reason);
    this.#pings.clear();
  }

  // The socket is gone (or going): everything ends.
  #terminate(reason: Error, options: { graceful?: boolean } = {}): void {
    if (this.#done) return;
    this.#abortAll(reason);
    if (options.graceful && !this.#socket.destroyed) {
      // The peer ended its side; end ours once queued frames are out.
      this.#endSocket();
      return;
    }
    this.#done = true;
    this.#resolveSocketClosed();
    clearTimeout(this.#idleTimer);
    clearTimeout(this.#closeTimer);
    this.#releaseDrainWaiters();
    this.#compressor.close();
    this.#decompressor.close();
    if (!this.#socket.destroyed) this.#socket.destroy();
  }

  #armIdleTimer(delay: number): void {
    this.#idleTimer = setTimeout(() => {
      if (this.#done) return;
      const idle = Date.now() - this.#lastActivity;
      if (idle < this.#idleTimeoutMs) {
        this.#armIdleTimer(this.#idleTimeoutMs - idle);
        return;
      }
      // kubelet's idle timeout: spdystream resets every stream and closes the connection (idleAwareFramer.monitor).
      void this.close(new SpdyClosedError(`SPDY connection idle for ${this.#idleTimeoutMs} ms`));
    }, delay);
  }
}
