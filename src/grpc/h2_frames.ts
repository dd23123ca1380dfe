/**
 * A streaming rewriter of the client→server half of an HTTP/2 connection (RFC 9113), placed between a unix socket
 * and grpc-js to work around two faults of Deno's `node:http2`:
 * - Go gRPC clients (crictl, critest, kubelet ≤ 1.29) send the socket *path* as `:authority`; nghttp2 rejects the
 *   `/` with GOAWAY(PROTOCOL_ERROR). Every header block is HPACK-decoded, an invalid `:authority` replaced, and the
 *   block re-encoded, so this rewriter is the encoder whose table the server's decoder mirrors.
 * - A client GOAWAY after a few hundred streams aborts the Deno process (denoland/deno#36788). Client GOAWAY frames
 *   are dropped; the client closing its socket ends the connection just as well.
 * All other frames pass through byte for byte, without waiting for their payload to arrive whole.
 * @module
 */

import { Buffer } from "node:buffer";
import { type HeaderField, HpackDecoder, HpackEncoder } from "./hpack_codec.ts";

/** The 24 octets every HTTP/2 client connection starts with (RFC 9113 §3.4). */
export const CLIENT_PREFACE: Uint8Array = new TextEncoder().encode("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");

/** Size of a frame header (RFC 9113 §4.1). */
export const FRAME_HEADER_SIZE = 9;

/** The default SETTINGS_MAX_FRAME_SIZE: the largest frame payload a peer accepts unless told otherwise. */
export const DEFAULT_MAX_FRAME_SIZE = 16384;

/** Frame type codes (RFC 9113 §6). */
export const FrameType = {
  DATA: 0x0,
  HEADERS: 0x1,
  PRIORITY: 0x2,
  RST_STREAM: 0x3,
  SETTINGS: 0x4,
  PUSH_PROMISE: 0x5,
  PING: 0x6,
  GOAWAY: 0x7,
  WINDOW_UPDATE: 0x8,
  CONTINUATION: 0x9,
} as const;

/** Frame flag bits (RFC 9113 §6). */
export const FrameFlag = {
  END_STREAM: 0x1,
  ACK: 0x1,
  END_HEADERS: 0x4,
  PADDED: 0x8,
  PRIORITY: 0x20,
} as const;

/** A decoded frame header. */
export interface FrameHeader {
  /** Payload length in octets (24 bits). */
  length: number;
  /** Frame type, see {@link FrameType}. */
  type: number;
  /** Flag bits, see {@link FrameFlag}. */
  flags: number;
  /** Stream identifier (31 bits, the reserved bit cleared). */
  streamId: number;
}

/** Encodes a frame header into 9 octets. */
export function encodeFrameHeader(header: FrameHeader): Uint8Array {
  const out = new Uint8Array(FRAME_HEADER_SIZE);
  out[0] = (header.length >>> 16) & 0xff;
  out[1] = (header.length >>> 8) & 0xff;
  out[2] = header.length & 0xff;
  out[3] = header.type;
  out[4] = header.flags;
  new DataView(out.buffer).setUint32(5, header.streamId & 0x7fffffff);
  return out;
}

/** Decodes the 9-octet frame header at the start of `bytes`. */
export function decodeFrameHeader(bytes: Uint8Array): FrameHeader {
  if (bytes.length < FRAME_HEADER_SIZE) throw new RangeError("A frame header needs 9 octets");
  const view = new DataView(bytes.buffer, bytes.byteOffset, FRAME_HEADER_SIZE);
  return {
    length: (view.getUint8(0) << 16) | view.getUint16(1),
    type: view.getUint8(3),
    flags: view.getUint8(4),
    streamId: view.getUint32(5) & 0x7fffffff,
  };
}

/** Encodes a whole frame: header plus payload. */
export function encodeFrame(type: number, flags: number, streamId: number, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(FRAME_HEADER_SIZE + payload.length);
  out.set(encodeFrameHeader({ length: payload.length, type, flags, streamId }));
  out.set(payload, FRAME_HEADER_SIZE);
  return out;
}

/**
 * Tells whether `authority` is something nghttp2 accepts as `:authority`: not empty, and only the characters of
 * RFC 3986 §3.2 (unreserved, sub-delims, `%`, `:`, `@`, `[`, `]`). A socket path fails on its `/`.
 */
export function isValidAuthority(authority: string): boolean {
  return /^[A-Za-z0-9\-._~!$&'()*+,;=%:@[\]]+$/.test(authority);
}

/** The error thrown when the client's bytes are not HTTP/2 this rewriter can carry; the connection must be closed. */
export class H2ProtocolError extends Error {
  /** Creates the error. */
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "H2ProtocolError";
  }
}

/** Options of {@link ClientStreamRewriter}. */
export interface ClientStreamRewriterOptions {
  /** What replaces an invalid `:authority`; default `localhost`. */
  authority?: string;
  /** Largest frame payload the server accepts (its SETTINGS_MAX_FRAME_SIZE); default 16384. */
  maxFrameSize?: number;
  /** Largest header block (HPACK octets, all fragments) accepted from the client; default 1 MiB. */
  maxHeaderBlockSize?: number;
  /** Dynamic table size of the HPACK decoder and encoder (the server's SETTINGS_HEADER_TABLE_SIZE); default 4096. */
  headerTableSize?: number;
}

/** Counters of what a rewriter did, for logs and tests. */
export interface RewriterStats {
  /** Header blocks decoded and re-encoded. */
  headerBlocks: number;
  /** `:authority` values replaced. */
  authoritiesRewritten: number;
  /** GOAWAY frames dropped. */
  goawaysDropped: number;
}

// Where the parser stands: the preface, a frame header, or inside a payload that is passed, skipped or collected.
type Phase = "preface" | "header" | "pass" | "skip" | "collect";

interface PendingBlock {
  streamId: number;
  // END_STREAM and PRIORITY of the opening HEADERS frame, with its 5 priority octets if flagged.
  flags: number;
  priority: Uint8Array | undefined;
  fragments: Uint8Array[];
  size: number;
}

/**
 * Rewrites the client→server octets of one HTTP/2 connection: expects the client preface, then frames. Header
 * blocks are re-encoded with any invalid `:authority` replaced, GOAWAY frames are dropped, everything else passes
 * through unchanged. Feed it the stream in chunks of any size; it throws {@link H2ProtocolError} on input it
 * cannot carry.
 */
export class ClientStreamRewriter {
  /** What this rewriter has done so far. */
  readonly stats: RewriterStats = { headerBlocks: 0, authoritiesRewritten: 0, goawaysDropped: 0 };

  readonly #authority: string;
  readonly #maxFrameSize: number;
  readonly #maxHeaderBlockSize: number;
  readonly #decoder: HpackDecoder;
  readonly #encoder: HpackEncoder;

  #phase: Phase = "preface";
  #prefaceSeen = 0;
  // The current frame header, gathered octet by octet when it straddles chunks.
  readonly #headerBytes = new Uint8Array(FRAME_HEADER_SIZE);
  #headerFill = 0;
  #frame: FrameHeader = { length: 0, type: 0, flags: 0, streamId: 0 };
  // Octets of the current payload still to come (pass/skip), or the collected payload (collect).
  #remaining = 0;
  #payload = new Uint8Array(0);
  #payloadFill = 0;
  #pending: PendingBlock | undefined;
  #failed = false;

  /** Creates a rewriter for one connection. */
  constructor(options: ClientStreamRewriterOptions = {}) {
    this.#authority = options.authority ?? "localhost";
    this.#maxFrameSize = options.maxFrameSize ?? DEFAULT_MAX_FRAME_SIZE;
    this.#maxHeaderBlockSize = options.maxHeaderBlockSize ?? 1 << 20;
    this.#decoder = new HpackDecoder(options.headerTableSize);
    this.#encoder = new HpackEncoder(options.headerTableSize);
  }

  /** Tells whether the whole client preface has arrived (and was right). */
  get prefaceComplete(): boolean {
    return this.#prefaceSeen === CLIENT_PREFACE.length;
  }

  /** Tells whether the connection is between frames, not inside a preface, frame or header block. */
  get atFrameBoundary(): boolean {
    return this.#phase === "header" && this.#headerFill === 0 && this.#pending === undefined;
  }

  /**
   * Consumes the next `chunk` of client octets and returns what to send to the server instead, as one buffer
   * (possibly `chunk` itself when it passes unchanged, possibly empty).
   */
  push(chunk: Uint8Array): Uint8Array {
    if (this.#failed) throw new H2ProtocolError("The rewriter already failed on this connection");
    const out: Uint8Array[] = [];
    try {
      this.#consume(chunk, out);
    } catch (err) {
      this.#failed = true;
      if (err instanceof H2ProtocolError) throw err;
      throw new H2ProtocolError(`Cannot rewrite the client stream: ${err instanceof Error ? err.message : err}`, {
        cause: err,
      });
    }
    if (out.length === 1 && out[0] === chunk) return chunk;
    if (out.length === 1) return out[0]!;
    return Buffer.concat(out);
  }

  #consume(chunk: Uint8Array, out: Uint8Array[]): void {
    let pos = 0;
    // Runs of chunk octets that pass unchanged are emitted as one subarray.
    let runStart = 0;
    const flushRun = (end: number) => {
      if (end > runStart) out.push(runStart === 0 && end === chunk.length ? chunk : chunk.subarray(runStart, end));
    };
    while (pos < chunk.length) {
      switch (this.#phase) {
        case "preface": {
          while (pos < chunk.length && this.#prefaceSeen < CLIENT_PREFACE.length) {
            if (chunk[pos] !== CLIENT_PREFACE[this.#prefaceSeen]) {
              throw new H2ProtocolError("The connection does not start with the HTTP/2 client preface");
            }
            pos++;
            this.#prefaceSeen++;
          }
          if (this.#prefaceSeen === CLIENT_PREFACE.length) this.#phase = "header";
          break;
        }
        case "header": {
          if (this.#headerFill === 0 && chunk.length - pos >= FRAME_HEADER_SIZE) {
            const header = decodeFrameHeader(chunk.subarray(pos));
            pos += FRAME_HEADER_SIZE;
            // A frame that passes keeps its header in the current run; any other ends the run before its header.
            if (!passesUnchanged(header.type)) {
              flushRun(pos - FRAME_HEADER_SIZE);
              runStart = pos;
            }
            this.#startFrame(header, out);
            break;
          }
          // A header split across chunks: gather it, then emit it ourselves if the frame passes.
          flushRun(pos);
          const take = Math.min(FRAME_HEADER_SIZE - this.#headerFill, chunk.length - pos);
          this.#headerBytes.set(chunk.subarray(pos, pos + take), this.#headerFill);
          this.#headerFill += take;
          pos += take;
          runStart = pos;
          if (this.#headerFill === FRAME_HEADER_SIZE) {
            this.#headerFill = 0;
            const header = decodeFrameHeader(this.#headerBytes);
            if (passesUnchanged(header.type)) out.push(this.#headerBytes.slice());
            this.#startFrame(header, out);
          }
          break;
        }
        case "pass": {
          const take = Math.min(this.#remaining, chunk.length - pos);
          pos += take;
          this.#remaining -= take;
          if (this.#remaining === 0) this.#phase = "header";
          break;
        }
        case "skip": {
          flushRun(pos);
          const take = Math.min(this.#remaining, chunk.length - pos);
          pos += take;
          runStart = pos;
          this.#remaining -= take;
          if (this.#remaining === 0) this.#phase = "header";
          break;
        }
        case "collect": {
          flushRun(pos);
          const take = Math.min(this.#payload.length - this.#payloadFill, chunk.length - pos);
          this.#payload.set(chunk.subarray(pos, pos + take), this.#payloadFill);
          this.#payloadFill += take;
          pos += take;
          runStart = pos;
          if (this.#payloadFill === this.#payload.length) {
            this.#phase = "header";
            this.#endHeaderFrame(out);
          }
          break;
        }
      }
    }
    flushRun(pos);
  }

  // Decides what happens to the frame whose header was just read; frames with an empty payload finish here.
  #startFrame(header: FrameHeader, out: Uint8Array[]): void {
    this.#frame = header;
    const { type, length } = header;
    if (this.#pending && type !== FrameType.CONTINUATION) {
      throw new H2ProtocolError(`Expected CONTINUATION on stream ${this.#pending.streamId}, got frame type ${type}`);
    }
    if (type === FrameType.HEADERS || type === FrameType.CONTINUATION) {
      const collected = (this.#pending?.size ?? 0) + length;
      if (collected > this.#maxHeaderBlockSize) {
        throw new H2ProtocolError(`Header block larger than ${this.#maxHeaderBlockSize} octets`);
      }
      this.#payload = new Uint8Array(length);
      this.#payloadFill = 0;
      this.#phase = "collect";
      if (length === 0) {
        // An empty fragment can still complete a block.
        this.#phase = "header";
        this.#endHeaderFrame(out);
      }
      return;
    }
    if (type === FrameType.PUSH_PROMISE) throw new H2ProtocolError("A client must not send PUSH_PROMISE");
    if (type === FrameType.GOAWAY) {
      this.stats.goawaysDropped++;
      this.#remaining = length;
      this.#phase = length === 0 ? "header" : "skip";
      return;
    }
    this.#remaining = length;
    this.#phase = length === 0 ? "header" : "pass";
  }

  // A HEADERS or CONTINUATION payload is complete in #payload.
  #endHeaderFrame(out: Uint8Array[]): void {
    const { type, flags, streamId } = this.#frame;
    let fragment = this.#payload;
    if (type === FrameType.HEADERS) {
      let start = 0;
      let padLength = 0;
      if (flags & FrameFlag.PADDED) {
        if (fragment.length < 1) throw new H2ProtocolError("PADDED HEADERS frame without a pad length");
        padLength = fragment[0]!;
        start = 1;
      }
      let priority: Uint8Array | undefined;
      if (flags & FrameFlag.PRIORITY) {
        if (fragment.length < start + 5) throw new H2ProtocolError("HEADERS frame too short for its priority");
        priority = fragment.slice(start, start + 5);
        start += 5;
      }
      if (start + padLength > fragment.length) throw new H2ProtocolError("HEADERS padding exceeds the frame");
      fragment = fragment.subarray(start, fragment.length - padLength);
      this.#pending = {
        streamId,
        flags: flags & (FrameFlag.END_STREAM | FrameFlag.PRIORITY),
        priority,
        fragments: [fragment],
        size: fragment.length,
      };
    } else {
      const pending = this.#pending;
      if (!pending) throw new H2ProtocolError("CONTINUATION frame without a preceding HEADERS frame");
      if (pending.streamId !== streamId) {
        throw new H2ProtocolError(`CONTINUATION on stream ${streamId} inside a header block of ${pending.streamId}`);
      }
      pending.fragments.push(fragment);
      pending.size += fragment.length;
    }
    if (flags & FrameFlag.END_HEADERS) {
      const block = this.#pending!;
      this.#pending = undefined;
      this.#emitBlock(block, out);
    }
  }

  #emitBlock(block: PendingBlock, out: Uint8Array[]): void {
    const joined = block.fragments.length === 1 ? block.fragments[0]! : Buffer.concat(block.fragments);
    const fields = this.#decoder.decode(joined);
    this.stats.headerBlocks++;
    const rewritten = fields.map((field): HeaderField => {
      if (field.name !== ":authority" || isValidAuthority(field.value)) return field;
      this.stats.authoritiesRewritten++;
      return { name: ":authority", value: this.#authority, neverIndex: false };
    });
    const encoded = this.#encoder.encode(rewritten);
    out.push(...frameHeaderBlock(block.streamId, block.flags, block.priority, encoded, this.#maxFrameSize));
  }
}

// Frames whose octets go to the server as they came: all but header blocks, GOAWAY and the forbidden PUSH_PROMISE.
function passesUnchanged(type: number): boolean {
  return type !== FrameType.HEADERS && type !== FrameType.CONTINUATION && type !== FrameType.GOAWAY &&
    type !== FrameType.PUSH_PROMISE;
}

/**
 * Splits an encoded header block into a HEADERS frame (unpadded, with `priority` octets when the PRIORITY flag is
 * set) and as many CONTINUATION frames as `maxFrameSize` requires; the last frame carries END_HEADERS.
 */
export function frameHeaderBlock(
  streamId: number,
  flags: number,
  priority: Uint8Array | undefined,
  block: Uint8Array,
  maxFrameSize: number = DEFAULT_MAX_FRAME_SIZE,
): Uint8Array[] {
  const prefix = flags & FrameFlag.PRIORITY && priority ? priority : new Uint8Array(0);
  const headersFlags = flags & (FrameFlag.END_STREAM | (prefix.length ? FrameFlag.PRIORITY : 0));
  const frames: Uint8Array[] = [];
  let offset = Math.min(block.length, maxFrameSize - prefix.length);
  const first = new Uint8Array(prefix.length + offset);
  first.set(prefix);
  first.set(block.subarray(0, offset), prefix.length);
  const last = offset === block.length;
  frames.push(encodeFrame(FrameType.HEADERS, headersFlags | (last ? FrameFlag.END_HEADERS : 0), streamId, first));
  while (offset < block.length) {
    const end = Math.min(block.length, offset + maxFrameSize);
    const endFlag = end === block.length ? FrameFlag.END_HEADERS : 0;
    frames.push(encodeFrame(FrameType.CONTINUATION, endFlag, streamId, block.subarray(offset, end)));
    offset = end;
  }
  return frames;
}
