/**
 * HTTP/2 test helpers (not used by the runtime): a frame splitter, a raw HTTP/2 client over a unix socket that can
 * send what Go clients send, including a socket path as `:authority`, and a `node:http2` echo server. The raw client
 * codes its header blocks with our own HPACK codec; against the echo server or grpc-js, whose HPACK is nghttp2's
 * inside Deno's `node:http2`, every exchange checks that codec against an independent one.
 * @module
 */

import { Buffer } from "node:buffer";
import http2 from "node:http2";
import net from "node:net";
import {
  CLIENT_PREFACE,
  decodeFrameHeader,
  encodeFrame,
  FRAME_HEADER_SIZE,
  FrameFlag,
  type FrameHeader,
  frameHeaderBlock,
  FrameType,
} from "../../src/grpc/h2_frames.ts";
import { DEFAULT_HEADER_TABLE_SIZE, type HeaderField, HpackDecoder, HpackEncoder } from "../../src/grpc/hpack_codec.ts";

/** A frame taken apart. */
export interface Frame extends FrameHeader {
  /** The payload, padding and priority included. */
  payload: Uint8Array;
}

/** Builds a header field that is not marked never-indexed. */
export function hf(name: string, value: string): HeaderField {
  return { name, value, neverIndex: false };
}

/** Splits a buffer holding whole frames (no preface) into frames; throws if it ends inside one. */
export function splitFrames(bytes: Uint8Array): Frame[] {
  const frames: Frame[] = [];
  let pos = 0;
  while (pos < bytes.length) {
    const header = decodeFrameHeader(bytes.subarray(pos));
    const end = pos + FRAME_HEADER_SIZE + header.length;
    if (end > bytes.length) throw new Error(`Truncated frame at ${pos}`);
    frames.push({ ...header, payload: bytes.slice(pos + FRAME_HEADER_SIZE, end) });
    pos = end;
  }
  return frames;
}

/** Builds a HEADERS frame payload with optional padding and priority. */
export function headersPayload(
  block: Uint8Array,
  options: { padLength?: number; priority?: Uint8Array } = {},
): { flags: number; payload: Uint8Array } {
  const parts: Uint8Array[] = [];
  let flags = 0;
  if (options.padLength !== undefined) {
    flags |= FrameFlag.PADDED;
    parts.push(Uint8Array.of(options.padLength));
  }
  if (options.priority) {
    flags |= FrameFlag.PRIORITY;
    parts.push(options.priority);
  }
  parts.push(block);
  if (options.padLength !== undefined) parts.push(new Uint8Array(options.padLength).fill(0));
  return { flags, payload: Buffer.concat(parts) };
}

/** Frames a gRPC message: 1 octet compressed flag, 4 octets length, the message. */
export function grpcMessage(message: Uint8Array): Uint8Array {
  const out = new Uint8Array(5 + message.length);
  new DataView(out.buffer).setUint32(1, message.length);
  out.set(message, 5);
  return out;
}

/** What a raw client received on one stream. */
export interface StreamResult {
  /** Response headers (first HEADERS block). */
  headers: HeaderField[];
  /** Trailers (a later HEADERS block), empty for a trailers-only response. */
  trailers: HeaderField[];
  /** All DATA octets. */
  data: Uint8Array;
  /** RST_STREAM error code, if the stream was reset. */
  resetCode?: number;
}

interface StreamState {
  blocks: HeaderField[][];
  data: Uint8Array[];
  resolve: (result: StreamResult) => void;
  reject: (err: Error) => void;
}

/** Options of {@link RawH2Client.connect}. */
export interface RawH2ClientOptions {
  /**
   * SETTINGS_HEADER_TABLE_SIZE to advertise, and the limit of the client's HPACK decoder; default 4096, which is then
   * not sent. A smaller one makes the server's encoder evict sooner and start with a dynamic table size update.
   */
  headerTableSize?: number;
  /**
   * SETTINGS_INITIAL_WINDOW_SIZE to advertise (stream flow-control window). The client returns connection credit
   * but never stream credit, so an answer larger than the default 65,535 octets needs a larger window (benchmarks).
   */
  initialWindowSize?: number;
}

/**
 * A minimal HTTP/2 client over a unix socket speaking just enough of the protocol for gRPC unary calls and simple
 * requests: it ACKs SETTINGS and PING, returns connection flow-control credit, can send arbitrary frames, GOAWAY
 * included, and can PING the server to know what it has read. It assumes the server's default header table size (4096) for its encoder.
 */
export class RawH2Client {
  readonly #socket: net.Socket;
  readonly #encoder = new HpackEncoder();
  readonly #decoder: HpackDecoder;
  readonly #streams = new Map<number, StreamState>();
  #buffer: Uint8Array = new Uint8Array(0);
  #nextStreamId = 1;
  #unacked = 0;
  #pendingBlock: { streamId: number; endStream: boolean; fragments: Uint8Array[] } | undefined;
  #closed = false;
  readonly #pings = new Map<string, { resolve: () => void; reject: (err: Error) => void }>();
  #pingCount = 0;
  /** Frames received on stream 0 (SETTINGS, GOAWAY, ...), for assertions. */
  readonly connectionFrames: Frame[] = [];
  /** Resolves when the socket has closed. */
  readonly closed: Promise<void>;

  private constructor(socket: net.Socket, headerTableSize: number) {
    this.#socket = socket;
    this.#decoder = new HpackDecoder(headerTableSize);
    this.closed = new Promise((resolve) => socket.on("close", () => resolve()));
    socket.on("data", (chunk: Buffer) => this.#onData(chunk));
    socket.on("close", () => {
      this.#closed = true;
      for (const [id, stream] of this.#streams) stream.reject(new Error(`Connection closed before stream ${id} ended`));
      this.#streams.clear();
      for (const ping of this.#pings.values()) {
        ping.reject(new Error("Connection closed before the PING was acknowledged"));
      }
      this.#pings.clear();
    });
  }

  /** Connects to `path` and sends the client preface and a SETTINGS frame (empty unless `options` say otherwise). */
  static connect(path: string, options: RawH2ClientOptions = {}): Promise<RawH2Client> {
    const headerTableSize = options.headerTableSize ?? DEFAULT_HEADER_TABLE_SIZE;
    const entries: [number, number][] = [];
    // SETTINGS_HEADER_TABLE_SIZE and SETTINGS_INITIAL_WINDOW_SIZE (RFC 9113 §6.5.2)
    if (headerTableSize !== DEFAULT_HEADER_TABLE_SIZE) entries.push([0x1, headerTableSize]);
    if (options.initialWindowSize !== undefined) entries.push([0x4, options.initialWindowSize]);
    const settings = new Uint8Array(entries.length * 6);
    const view = new DataView(settings.buffer);
    entries.forEach(([id, value], i) => {
      view.setUint16(i * 6, id);
      view.setUint32(i * 6 + 2, value);
    });
    return new Promise((resolve, reject) => {
      const socket = net.connect(path);
      socket.once("error", reject);
      socket.once("connect", () => {
        socket.off("error", reject);
        socket.on("error", () => {});
        const client = new RawH2Client(socket, headerTableSize);
        client.sendRaw(Buffer.concat([CLIENT_PREFACE, encodeFrame(FrameType.SETTINGS, 0, 0, settings)]));
        resolve(client);
      });
    });
  }

  /** Writes octets as they are. */
  sendRaw(bytes: Uint8Array): void {
    if (!this.#closed) this.#socket.write(bytes);
  }

  /**
   * Sends GOAWAY naming `lastStreamId` as the last stream processed; 0 by default, as Go clients send on Close(),
   * which is what aborts Deno 2.9's node:http2 after a few hundred streams.
   */
  sendGoaway(lastStreamId = 0, errorCode = 0): void {
    const payload = new Uint8Array(8);
    const view = new DataView(payload.buffer);
    view.setUint32(0, lastStreamId);
    view.setUint32(4, errorCode);
    this.sendRaw(encodeFrame(FrameType.GOAWAY, 0, 0, payload));
  }

  /**
   * Sends a PING and resolves when the server acknowledges it. A server handles frames in order, so the ACK shows
   * that it has read everything sent before the PING: a barrier, e.g. after a request or a GOAWAY.
   */
  ping(): Promise<void> {
    if (this.#closed) return Promise.reject(new Error("Connection closed"));
    this.#pingCount += 1;
    const payload = new Uint8Array(8);
    new DataView(payload.buffer).setUint32(4, this.#pingCount);
    const key = payload.join(",");
    const acked = new Promise<void>((resolve, reject) => this.#pings.set(key, { resolve, reject }));
    this.sendRaw(encodeFrame(FrameType.PING, 0, 0, payload));
    return acked;
  }

  /** Starts a unary gRPC call and resolves with what came back on its stream. */
  unary(path: string, authority: string, message: Uint8Array): Promise<StreamResult> {
    return this.request([
      { name: ":method", value: "POST", neverIndex: false },
      { name: ":scheme", value: "http", neverIndex: false },
      { name: ":path", value: path, neverIndex: false },
      { name: ":authority", value: authority, neverIndex: false },
      { name: "content-type", value: "application/grpc", neverIndex: false },
      { name: "user-agent", value: "grpc-go/1.60.1", neverIndex: false },
      { name: "te", value: "trailers", neverIndex: false },
    ], grpcMessage(message));
  }

  /**
   * Sends one request, its header block HPACK-encoded as it is (the caller gives the pseudo-headers), then `body` as
   * one DATA frame if given, and resolves with what came back on its stream.
   */
  request(fields: readonly HeaderField[], body?: Uint8Array): Promise<StreamResult> {
    const streamId = this.#nextStreamId;
    this.#nextStreamId += 2;
    const result = new Promise<StreamResult>((resolve, reject) => {
      this.#streams.set(streamId, { blocks: [], data: [], resolve, reject });
    });
    const block = this.#encoder.encode(fields);
    const headersFlags = body ? 0 : FrameFlag.END_STREAM;
    const frames = frameHeaderBlock(streamId, headersFlags, undefined, block);
    if (body) frames.push(encodeFrame(FrameType.DATA, FrameFlag.END_STREAM, streamId, body));
    this.sendRaw(Buffer.concat(frames));
    return result;
  }

  /** Half-closes, then waits for the socket to close (the server closes after EOF). */
  async end(): Promise<void> {
    this.#socket.end();
    await this.closed;
  }

  /** Destroys the socket at once. */
  destroy(): void {
    this.#socket.destroy();
  }

  #onData(chunk: Buffer): void {
    this.#buffer = this.#buffer.length ? Buffer.concat([this.#buffer, chunk]) : chunk;
    let pos = 0;
    while (this.#buffer.length - pos >= FRAME_HEADER_SIZE) {
      const header = decodeFrameHeader(this.#buffer.subarray(pos));
      if (this.#buffer.length - pos < FRAME_HEADER_SIZE + header.length) break;
      const payload = this.#buffer.slice(pos + FRAME_HEADER_SIZE, pos + FRAME_HEADER_SIZE + header.length);
      pos += FRAME_HEADER_SIZE + header.length;
      this.#onFrame({ ...header, payload });
    }
    this.#buffer = this.#buffer.subarray(pos);
  }

  #onFrame(frame: Frame): void {
    if (frame.streamId === 0) this.connectionFrames.push(frame);
    switch (frame.type) {
      case FrameType.SETTINGS:
        if (!(frame.flags & FrameFlag.ACK)) {
          this.sendRaw(encodeFrame(FrameType.SETTINGS, FrameFlag.ACK, 0, new Uint8Array(0)));
        }
        return;
      case FrameType.PING: {
        if (!(frame.flags & FrameFlag.ACK)) {
          this.sendRaw(encodeFrame(FrameType.PING, FrameFlag.ACK, 0, frame.payload));
          return;
        }
        const key = frame.payload.join(",");
        this.#pings.get(key)?.resolve();
        this.#pings.delete(key);
        return;
      }
      case FrameType.DATA: {
        const stream = this.#streams.get(frame.streamId);
        let data = frame.payload;
        if (frame.flags & FrameFlag.PADDED) data = data.subarray(1, data.length - data[0]!);
        stream?.data.push(data);
        this.#unacked += frame.length;
        if (this.#unacked > 16384) {
          const credit = new Uint8Array(4);
          new DataView(credit.buffer).setUint32(0, this.#unacked);
          this.sendRaw(encodeFrame(FrameType.WINDOW_UPDATE, 0, 0, credit));
          this.#unacked = 0;
        }
        if (frame.flags & FrameFlag.END_STREAM) this.#finish(frame.streamId);
        return;
      }
      case FrameType.HEADERS: {
        let start = 0;
        let end = frame.payload.length;
        if (frame.flags & FrameFlag.PADDED) {
          start = 1;
          end -= frame.payload[0]!;
        }
        if (frame.flags & FrameFlag.PRIORITY) start += 5;
        this.#pendingBlock = {
          streamId: frame.streamId,
          endStream: (frame.flags & FrameFlag.END_STREAM) !== 0,
          fragments: [frame.payload.subarray(start, end)],
        };
        if (frame.flags & FrameFlag.END_HEADERS) this.#endBlock();
        return;
      }
      case FrameType.CONTINUATION:
        this.#pendingBlock?.fragments.push(frame.payload);
        if (frame.flags & FrameFlag.END_HEADERS) this.#endBlock();
        return;
      case FrameType.RST_STREAM: {
        const stream = this.#streams.get(frame.streamId);
        if (!stream) return;
        this.#streams.delete(frame.streamId);
        stream.resolve({
          headers: stream.blocks[0] ?? [],
          trailers: stream.blocks[1] ?? [],
          data: Buffer.concat(stream.data),
          resetCode: new DataView(frame.payload.buffer, frame.payload.byteOffset).getUint32(0),
        });
        return;
      }
    }
  }

  #endBlock(): void {
    const block = this.#pendingBlock!;
    this.#pendingBlock = undefined;
    const fields = this.#decoder.decode(Buffer.concat(block.fragments));
    this.#streams.get(block.streamId)?.blocks.push(fields);
    if (block.endStream) this.#finish(block.streamId);
  }

  #finish(streamId: number): void {
    const stream = this.#streams.get(streamId);
    if (!stream) return;
    this.#streams.delete(streamId);
    const [headers = [], trailers = []] = stream.blocks;
    stream.resolve({ headers, trailers, data: Buffer.concat(stream.data) });
  }
}

/** Reads a header's value from decoded fields. */
export function field(fields: readonly HeaderField[], name: string): string | undefined {
  return fields.find((f) => f.name === name)?.value;
}

/** Extracts the first gRPC message from response DATA octets. */
export function firstGrpcMessage(data: Uint8Array): Uint8Array | undefined {
  if (data.length < 5) return undefined;
  const length = new DataView(data.buffer, data.byteOffset).getUint32(1);
  return data.slice(5, 5 + length);
}

/** The gRPC status of a response: from the trailers, or from the headers of a trailers-only response. */
export function grpcStatus(result: StreamResult): string | undefined {
  return field(result.trailers, "grpc-status") ?? field(result.headers, "grpc-status");
}

/** What the echo server saw of one request. */
export interface EchoedRequest {
  /** The header fields as the server's `node:http2` decoded them, pseudo-headers included. */
  headers: Array<[name: string, value: string]>;
  /** The names that arrived as never-indexed literals (`node:http2`'s `sensitiveHeaders`). */
  sensitive: string[];
}

/** A running {@link startEchoServer}. */
export interface EchoServer {
  /** The unix socket it listens on. */
  readonly path: string;
  /** Closes the server and its connections, and removes its directory. */
  close(): Promise<void>;
}

/**
 * Starts a `node:http2` server on a unix socket in a new temporary directory. It answers every request with status
 * 200, a copy of each request header `x-<name>` as `y-<name>` (never-indexed when the request's was), and a JSON
 * {@link EchoedRequest} as the body.
 */
export async function startEchoServer(): Promise<EchoServer> {
  const dir = await Deno.makeTempDir({ prefix: "cri-h2echo-" });
  const path = `${dir}/echo.sock`;
  const server = http2.createServer();
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on("session", (session) => {
    sessions.add(session);
    session.on("close", () => sessions.delete(session));
  });
  server.on("stream", (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) => {
    // @types/node types the symbol as `symbol`, which cannot index a type.
    const sensitive = (headers as Record<symbol, string[] | undefined>)[http2.sensitiveHeaders] ?? [];
    const echoed: EchoedRequest = { headers: [], sensitive };
    const copies: http2.OutgoingHttpHeaders = {};
    const sensitiveCopies: string[] = [];
    for (const [name, value] of Object.entries(headers)) {
      if (typeof value !== "string") continue;
      echoed.headers.push([name, value]);
      if (!name.startsWith("x-")) continue;
      copies[`y-${name.slice(2)}`] = value;
      if (sensitive.includes(name)) sensitiveCopies.push(`y-${name.slice(2)}`);
    }
    stream.respond({ ":status": 200, ...copies, [http2.sensitiveHeaders]: sensitiveCopies });
    stream.end(JSON.stringify(echoed));
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  return {
    path,
    async close() {
      for (const session of sessions) session.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/** A seeded pseudo-random generator (mulberry32) of numbers in [0, 1): the same sequence for the same seed. */
export function seededRandom(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}
