/**
 * Test helpers (not used by the runtime): an HTTP/2 frame splitter, an independent HPACK codec (hpack.js's own
 * compressor and decompressor, standing in for a Go client's and for the server's), and a raw HTTP/2 client over a
 * unix socket that can send what Go clients send, including a socket path as `:authority`.
 * @module
 */

import hpackJs from "hpack.js";
import { Buffer } from "node:buffer";
import net from "node:net";
import {
  CLIENT_PREFACE,
  decodeFrameHeader,
  encodeFrame,
  FRAME_HEADER_SIZE,
  FrameFlag,
  type FrameHeader,
  FrameType,
} from "./h2_frames.ts";

/** A frame taken apart. */
export interface Frame extends FrameHeader {
  /** The payload, padding and priority included. */
  payload: Uint8Array;
}

/** A header field as the test codec sees it. */
export interface TestField {
  /** Field name. */
  name: string;
  /** Field value. */
  value: string;
  /** Whether it was (or is to be) sent as never indexed. */
  neverIndex?: boolean;
}

interface Compressor {
  write(fields: TestField[]): void;
  read(): Buffer | null;
}
interface Decompressor {
  write(block: Buffer): void;
  execute(): void;
  read(): TestField | null;
  on(event: "error", listener: (err: Error) => void): void;
}
const hpack = hpackJs as {
  compressor: { create(options: { table: { size: number } }): Compressor };
  decompressor: { create(options: { table: { size: number } }): Decompressor };
};

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

/** An HPACK encoder independent of the code under test (hpack.js's compressor). */
export class TestEncoder {
  readonly #compressor = hpack.compressor.create({ table: { size: 4096 } });

  /** Encodes one header block. */
  encode(fields: TestField[]): Uint8Array {
    this.#compressor.write(fields.map((f) => ({ ...f, neverIndex: f.neverIndex ?? false })));
    return new Uint8Array(this.#compressor.read() ?? new Uint8Array(0));
  }
}

/** An HPACK decoder independent of the code under test (hpack.js's decompressor), keeping its table. */
export class TestDecoder {
  readonly #decompressor = hpack.decompressor.create({ table: { size: 4096 } });
  #error: Error | undefined;

  /** Creates a decoder with an empty dynamic table. */
  constructor() {
    this.#decompressor.on("error", (err) => this.#error = err);
  }

  /** Decodes one header block. */
  decode(block: Uint8Array): TestField[] {
    this.#decompressor.write(Buffer.from(block));
    this.#decompressor.execute();
    const error = this.#error;
    this.#error = undefined;
    if (error) throw error;
    const fields: TestField[] = [];
    for (let f = this.#decompressor.read(); f !== null; f = this.#decompressor.read()) fields.push(f);
    return fields;
  }
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
  headers: TestField[];
  /** Trailers (a later HEADERS block), empty for a trailers-only response. */
  trailers: TestField[];
  /** All DATA octets. */
  data: Uint8Array;
  /** RST_STREAM error code, if the stream was reset. */
  resetCode?: number;
}

interface StreamState {
  blocks: TestField[][];
  data: Uint8Array[];
  resolve: (result: StreamResult) => void;
  reject: (err: Error) => void;
}

/**
 * A minimal HTTP/2 client over a unix socket speaking just enough of the protocol for gRPC unary calls: it ACKs
 * SETTINGS and PING, returns connection flow-control credit, and can send arbitrary frames, GOAWAY included.
 */
export class RawH2Client {
  readonly #socket: net.Socket;
  readonly #encoder = new TestEncoder();
  readonly #decoder = new TestDecoder();
  readonly #streams = new Map<number, StreamState>();
  #buffer: Uint8Array = new Uint8Array(0);
  #nextStreamId = 1;
  #unacked = 0;
  #pendingBlock: { streamId: number; endStream: boolean; fragments: Uint8Array[] } | undefined;
  #closed = false;
  /** Frames received on stream 0 (SETTINGS, GOAWAY, ...), for assertions. */
  readonly connectionFrames: Frame[] = [];
  /** Resolves when the socket has closed. */
  readonly closed: Promise<void>;

  private constructor(socket: net.Socket) {
    this.#socket = socket;
    this.closed = new Promise((resolve) => socket.on("close", () => resolve()));
    socket.on("data", (chunk: Buffer) => this.#onData(chunk));
    socket.on("close", () => {
      this.#closed = true;
      for (const [id, stream] of this.#streams) stream.reject(new Error(`Connection closed before stream ${id} ended`));
      this.#streams.clear();
    });
  }

  /** Connects to `path` and sends the client preface and an empty SETTINGS frame. */
  static connect(path: string): Promise<RawH2Client> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(path);
      socket.once("error", reject);
      socket.once("connect", () => {
        socket.off("error", reject);
        socket.on("error", () => {});
        const client = new RawH2Client(socket);
        client.sendRaw(Buffer.concat([CLIENT_PREFACE, encodeFrame(FrameType.SETTINGS, 0, 0, new Uint8Array(0))]));
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

  /** Starts a unary gRPC call and resolves with what came back on its stream. */
  unary(path: string, authority: string, message: Uint8Array): Promise<StreamResult> {
    const streamId = this.#nextStreamId;
    this.#nextStreamId += 2;
    const result = new Promise<StreamResult>((resolve, reject) => {
      this.#streams.set(streamId, { blocks: [], data: [], resolve, reject });
    });
    const block = this.#encoder.encode([
      { name: ":method", value: "POST" },
      { name: ":scheme", value: "http" },
      { name: ":path", value: path },
      { name: ":authority", value: authority },
      { name: "content-type", value: "application/grpc" },
      { name: "user-agent", value: "grpc-go/1.60.1" },
      { name: "te", value: "trailers" },
    ]);
    this.sendRaw(Buffer.concat([
      encodeFrame(FrameType.HEADERS, FrameFlag.END_HEADERS, streamId, block),
      encodeFrame(FrameType.DATA, FrameFlag.END_STREAM, streamId, grpcMessage(message)),
    ]));
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
      case FrameType.PING:
        if (!(frame.flags & FrameFlag.ACK)) this.sendRaw(encodeFrame(FrameType.PING, FrameFlag.ACK, 0, frame.payload));
        return;
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
export function field(fields: readonly TestField[], name: string): string | undefined {
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
