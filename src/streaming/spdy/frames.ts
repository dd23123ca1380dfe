/**
 * SPDY/3 framing (SPDY Protocol draft 3, §2.2 "Framing", §2.6 "Control frames"), as moby/spdystream's spdy/read.go
 * and spdy/write.go speak it for client-go: an incremental parser that takes the byte stream cut anywhere, and
 * serializers. Header blocks stay compressed here; header_block.ts and header_compression.ts turn them into names
 * and values. DATA payloads are handed on as they arrive, never gathered, so a 16 MiB DATA frame costs no buffer;
 * control frames are gathered whole and refused past a size limit.
 * @module
 */

import { SpdyProtocolError } from "./errors.ts";

/** The protocol version this module speaks (draft 3; "SPDY/3.1" in the Upgrade header names the same framing). */
export const SPDY_VERSION = 3;

/** Size of every frame header, control or data (§2.2). */
export const FRAME_HEADER_SIZE = 8;

/** The largest length a frame can carry (24 bits, §2.2). */
export const MAX_FRAME_LENGTH = 0xffffff;

/** Control frame type codes (§2.6; spdystream's spdy/types.go). */
export const ControlType = {
  SYN_STREAM: 1,
  SYN_REPLY: 2,
  RST_STREAM: 3,
  SETTINGS: 4,
  PING: 6,
  GOAWAY: 7,
  HEADERS: 8,
  WINDOW_UPDATE: 9,
} as const;

/** Frame flag bits: FIN on DATA, SYN_STREAM, SYN_REPLY and HEADERS; UNIDIRECTIONAL on SYN_STREAM (§2.6.1). */
export const Flag = {
  FIN: 0x01,
  UNIDIRECTIONAL: 0x02,
  /** On SETTINGS (§2.6.4). */
  CLEAR_SETTINGS: 0x01,
} as const;

/** RST_STREAM status codes (§2.6.3). */
export const RstStatus = {
  PROTOCOL_ERROR: 1,
  INVALID_STREAM: 2,
  REFUSED_STREAM: 3,
  UNSUPPORTED_VERSION: 4,
  CANCEL: 5,
  INTERNAL_ERROR: 6,
  FLOW_CONTROL_ERROR: 7,
  STREAM_IN_USE: 8,
  STREAM_ALREADY_CLOSED: 9,
  INVALID_CREDENTIALS: 10,
  FRAME_TOO_LARGE: 11,
} as const;

/** GOAWAY status codes (§2.6.6). */
export const GoAwayStatus = { OK: 0, PROTOCOL_ERROR: 1, INTERNAL_ERROR: 2 } as const;

/** SETTINGS IDs (§2.6.4). */
export const SettingsId = {
  UPLOAD_BANDWIDTH: 1,
  DOWNLOAD_BANDWIDTH: 2,
  ROUND_TRIP_TIME: 3,
  MAX_CONCURRENT_STREAMS: 4,
  CURRENT_CWND: 5,
  DOWNLOAD_RETRANS_RATE: 6,
  INITIAL_WINDOW_SIZE: 7,
  CLIENT_CERTIFICATE_VECTOR_SIZE: 8,
} as const;

/** A DATA frame (§2.2.2). */
export interface DataFrame {
  type: "data";
  streamId: number;
  flags: number;
  data: Uint8Array;
}

/**
 * What the parser gives for DATA: a frame's payload in pieces as they arrive. FIN is set only on the `last` piece;
 * a frame with an empty payload is one empty `last` piece.
 */
export interface DataPiece extends DataFrame {
  /** Whether this piece ends its frame. */
  last: boolean;
}

/** SYN_STREAM (§2.6.1): the header block is still compressed. */
export interface SynStreamFrame {
  type: "syn_stream";
  flags: number;
  streamId: number;
  associatedStreamId: number;
  /** 0 (highest) to 7, the top 3 bits of its octet. */
  priority: number;
  slot: number;
  headerBlock: Uint8Array;
}

/** SYN_REPLY (§2.6.2): the header block is still compressed. */
export interface SynReplyFrame {
  type: "syn_reply";
  flags: number;
  streamId: number;
  headerBlock: Uint8Array;
}

/** RST_STREAM (§2.6.3). */
export interface RstStreamFrame {
  type: "rst_stream";
  streamId: number;
  status: number;
}

/** One ID/value pair of a SETTINGS frame (§2.6.4). */
export interface SettingsEntry {
  flags: number;
  id: number;
  value: number;
}

/** SETTINGS (§2.6.4). */
export interface SettingsFrame {
  type: "settings";
  flags: number;
  entries: SettingsEntry[];
}

/** PING (§2.6.5). */
export interface PingFrame {
  type: "ping";
  id: number;
}

/** GOAWAY (§2.6.6). */
export interface GoAwayFrame {
  type: "goaway";
  lastGoodStreamId: number;
  status: number;
}

/** HEADERS (§2.6.7): the header block is still compressed. */
export interface HeadersFrame {
  type: "headers";
  flags: number;
  streamId: number;
  headerBlock: Uint8Array;
}

/** WINDOW_UPDATE (§2.6.8). */
export interface WindowUpdateFrame {
  type: "window_update";
  streamId: number;
  delta: number;
}

/** A control frame of a type this module does not know (CREDENTIAL, or newer): the draft says to ignore it. */
export interface UnknownControlFrame {
  type: "unknown";
  controlType: number;
  flags: number;
  length: number;
}

/** Every frame this module serializes. */
export type SpdyFrame =
  | DataFrame
  | SynStreamFrame
  | SynReplyFrame
  | RstStreamFrame
  | SettingsFrame
  | PingFrame
  | GoAwayFrame
  | HeadersFrame
  | WindowUpdateFrame;

/** Every control frame the parser gives whole. */
export type ControlFrame = Exclude<SpdyFrame, DataFrame> | UnknownControlFrame;

/** What the parser gives: control frames whole, DATA in pieces. */
export type ParsedFrame = ControlFrame | DataPiece;

const STREAM_ID_MASK = 0x7fffffff;

/** Encodes the 8-octet header of a control frame (§2.2.1). */
export function encodeControlHeader(type: number, flags: number, length: number): Uint8Array {
  const out = new Uint8Array(FRAME_HEADER_SIZE);
  writeControlHeader(out, type, flags, length);
  return out;
}

function writeControlHeader(out: Uint8Array, type: number, flags: number, length: number): DataView {
  if (length > MAX_FRAME_LENGTH) throw new RangeError(`A SPDY frame carries at most ${MAX_FRAME_LENGTH} octets`);
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  view.setUint16(0, 0x8000 | SPDY_VERSION);
  view.setUint16(2, type);
  view.setUint32(4, ((flags & 0xff) << 24 | length) >>> 0);
  return view;
}

/** Encodes the 8-octet header of a DATA frame (§2.2.2), to be followed by `length` payload octets. */
export function encodeDataHeader(streamId: number, flags: number, length: number): Uint8Array {
  const out = new Uint8Array(FRAME_HEADER_SIZE);
  writeDataHeader(out, streamId, flags, length);
  return out;
}

/** Writes a DATA frame header into the first 8 octets of `out`. */
export function writeDataHeader(out: Uint8Array, streamId: number, flags: number, length: number): void {
  if (length > MAX_FRAME_LENGTH) throw new RangeError(`A SPDY frame carries at most ${MAX_FRAME_LENGTH} octets`);
  const view = new DataView(out.buffer, out.byteOffset, FRAME_HEADER_SIZE);
  view.setUint32(0, streamId & STREAM_ID_MASK);
  view.setUint32(4, ((flags & 0xff) << 24 | length) >>> 0);
}

/** Encodes a whole frame; header-bearing frames take their header block already compressed. */
export function encodeFrame(frame: SpdyFrame): Uint8Array {
  switch (frame.type) {
    case "data": {
      const out = new Uint8Array(FRAME_HEADER_SIZE + frame.data.length);
      writeDataHeader(out, frame.streamId, frame.flags, frame.data.length);
      out.set(frame.data, FRAME_HEADER_SIZE);
      return out;
    }
    case "syn_stream": {
      // Stream ID, associated stream ID, priority in the top 3 bits, slot, then the block (spdy/write.go).
      const out = new Uint8Array(FRAME_HEADER_SIZE + 10 + frame.headerBlock.length);
      const view = writeControlHeader(out, ControlType.SYN_STREAM, frame.flags, 10 + frame.headerBlock.length);
      view.setUint32(8, frame.streamId & STREAM_ID_MASK);
      view.setUint32(12, frame.associatedStreamId & STREAM_ID_MASK);
      out[16] = (frame.priority & 0x7) << 5;
      out[17] = frame.slot & 0xff;
      out.set(frame.headerBlock, 18);
      return out;
    }
    case "syn_reply":
    case "headers": {
      const type = frame.type === "syn_reply" ? ControlType.SYN_REPLY : ControlType.HEADERS;
      const out = new Uint8Array(FRAME_HEADER_SIZE + 4 + frame.headerBlock.length);
      const view = writeControlHeader(out, type, frame.flags, 4 + frame.headerBlock.length);
      view.setUint32(8, frame.streamId & STREAM_ID_MASK);
      out.set(frame.headerBlock, 12);
      return out;
    }
    case "rst_stream":
      return fixedFrame(ControlType.RST_STREAM, frame.streamId & STREAM_ID_MASK, frame.status);
    case "settings": {
      const out = new Uint8Array(FRAME_HEADER_SIZE + 4 + 8 * frame.entries.length);
      const view = writeControlHeader(out, ControlType.SETTINGS, frame.flags, 4 + 8 * frame.entries.length);
      view.setUint32(8, frame.entries.length);
      frame.entries.forEach((entry, i) => {
        // Flags in the top octet, the ID in the low 24 bits (spdy/write.go).
        view.setUint32(12 + 8 * i, ((entry.flags & 0xff) << 24 | (entry.id & 0xffffff)) >>> 0);
        view.setUint32(16 + 8 * i, entry.value >>> 0);
      });
      return out;
    }
    case "ping": {
      const out = new Uint8Array(FRAME_HEADER_SIZE + 4);
      writeControlHeader(out, ControlType.PING, 0, 4).setUint32(8, frame.id >>> 0);
      return out;
    }
    case "goaway":
      return fixedFrame(ControlType.GOAWAY, frame.lastGoodStreamId & STREAM_ID_MASK, frame.status);
    case "window_update":
      return fixedFrame(ControlType.WINDOW_UPDATE, frame.streamId & STREAM_ID_MASK, frame.delta & STREAM_ID_MASK);
  }
}

// A control frame with two 32-bit fields and no flags: RST_STREAM, GOAWAY, WINDOW_UPDATE.
function fixedFrame(type: number, first: number, second: number): Uint8Array {
  const out = new Uint8Array(FRAME_HEADER_SIZE + 8);
  const view = writeControlHeader(out, type, 0, 8);
  view.setUint32(8, first);
  view.setUint32(12, second >>> 0);
  return out;
}

/** Options of {@link FrameParser}. */
export interface FrameParserOptions {
  /** Largest control frame payload accepted; larger ones are refused before any of it is buffered. Default 1 MiB. */
  maxControlFrameSize?: number;
}

/** The default of {@link FrameParserOptions.maxControlFrameSize}. */
export const DEFAULT_MAX_CONTROL_FRAME_SIZE = 1 << 20;

type Phase = "header" | "control" | "data" | "skip";

/**
 * Parses a SPDY/3 byte stream fed in chunks of any size. Control frames come out whole and checked; DATA payloads
 * come out as {@link DataPiece}s referencing the input chunks. Throws {@link SpdyProtocolError} on malformed input,
 * after which the parser refuses further input.
 */
export class FrameParser {
  readonly #maxControlFrameSize: number;
  #phase: Phase = "header";
  readonly #header = new Uint8Array(FRAME_HEADER_SIZE);
  #headerFill = 0;
  // The frame being read: a control frame's type, flags and gathered payload, or a DATA frame's stream and flags.
  #control = false;
  #type = 0;
  #flags = 0;
  #streamId = 0;
  #remaining = 0;
  #payload = new Uint8Array(0);
  #payloadFill = 0;
  #failed: SpdyProtocolError | undefined;

  /** Creates a parser for one direction of one connection. */
  constructor(options: FrameParserOptions = {}) {
    this.#maxControlFrameSize = options.maxControlFrameSize ?? DEFAULT_MAX_CONTROL_FRAME_SIZE;
  }

  /** Tells whether the parser stands between frames (no partial frame pending). */
  get atFrameBoundary(): boolean {
    return this.#phase === "header" && this.#headerFill === 0;
  }

  /** Consumes `chunk` and returns the frames (and DATA pieces) it completes, in order. */
  push(chunk: Uint8Array): ParsedFrame[] {
    if (this.#failed) throw this.#failed;
    const out: ParsedFrame[] = [];
    try {
      this.#consume(chunk, out);
    } catch (err) {
      this.#failed = err instanceof SpdyProtocolError
        ? err
        : new SpdyProtocolError("bad-length", `Cannot parse SPDY input: ${err}`, { cause: err });
      throw this.#failed;
    }
    return out;
  }

  #consume(chunk: Uint8Array, out: ParsedFrame[]): void {
    let pos = 0;
    while (pos < chunk.length) {
      switch (this.#phase) {
        case "header": {
          if (this.#headerFill === 0 && chunk.length - pos >= FRAME_HEADER_SIZE) {
            this.#startFrame(chunk.subarray(pos, pos + FRAME_HEADER_SIZE), out);
            pos += FRAME_HEADER_SIZE;
            break;
          }
          const take = Math.min(FRAME_HEADER_SIZE - this.#headerFill, chunk.length - pos);
          this.#header.set(chunk.subarray(pos, pos + take), this.#headerFill);
          this.#headerFill += take;
          pos += take;
          if (this.#headerFill === FRAME_HEADER_SIZE) {
            this.#headerFill = 0;
            this.#startFrame(this.#header, out);
          }
          break;
        }
        case "data": {
          const take = Math.min(this.#remaining, chunk.length - pos);
          this.#remaining -= take;
          const last = this.#remaining === 0;
          out.push({
            type: "data",
            streamId: this.#streamId,
            flags: last ? this.#flags : this.#flags & ~Flag.FIN,
            data: chunk.subarray(pos, pos + take),
            last,
          });
          pos += take;
          if (last) this.#phase = "header";
          break;
        }
        case "control": {
          const take = Math.min(this.#payload.length - this.#payloadFill, chunk.length - pos);
          this.#payload.set(chunk.subarray(pos, pos + take), this.#payloadFill);
          this.#payloadFill += take;
          pos += take;
          if (this.#payloadFill === this.#payload.length) {
            this.#phase = "header";
            out.push(this.#decodeControl(this.#payload));
          }
          break;
        }
        case "skip": {
          const take = Math.min(this.#remaining, chunk.length - pos);
          this.#remaining -= take;
          pos += take;
          if (this.#remaining === 0) this.#phase = "header";
          break;
        }
      }
    }
  }

  // Reads a frame header (spdy/read.go ReadFrame: the top bit tells control from data) and decides its payload phase.
  #startFrame(header: Uint8Array, out: ParsedFrame[]): void {
    const view = new DataView(header.buffer, header.byteOffset, FRAME_HEADER_SIZE);
    const first = view.getUint32(0);
    const flagsAndLength = view.getUint32(4);
    this.#flags = flagsAndLength >>> 24;
    const length = flagsAndLength & 0xffffff;
    this.#control = (first & 0x80000000) !== 0;
    if (!this.#control) {
      this.#streamId = first & STREAM_ID_MASK;
      if (this.#streamId === 0) throw new SpdyProtocolError("bad-stream-id", "DATA frame on stream 0");
      if (length === 0) {
        out.push({ type: "data", streamId: this.#streamId, flags: this.#flags, data: new Uint8Array(0), last: true });
        return;
      }
      this.#remaining = length;
      this.#phase = "data";
      return;
    }
    const version = (first >>> 16) & 0x7fff;
    if (version !== SPDY_VERSION) {
      throw new SpdyProtocolError("unsupported-version", `Control frame of SPDY version ${version}, not 3`);
    }
    this.#type = first & 0xffff;
    if (!KNOWN_TYPES.has(this.#type)) {
      // Draft 3 §2.2.1: an unknown control frame type must be ignored. Its payload is skipped, not buffered.
      out.push({ type: "unknown", controlType: this.#type, flags: this.#flags, length });
      this.#remaining = length;
      this.#phase = length === 0 ? "header" : "skip";
      return;
    }
    if (length > this.#maxControlFrameSize) {
      throw new SpdyProtocolError(
        "frame-too-large",
        `Control frame of type ${this.#type} carries ${length} octets, more than the ${this.#maxControlFrameSize} accepted`,
      );
    }
    checkControlLength(this.#type, length);
    this.#payload = new Uint8Array(length);
    this.#payloadFill = 0;
    this.#phase = "control";
    if (length === 0) {
      this.#phase = "header";
      out.push(this.#decodeControl(this.#payload));
    }
  }

  #decodeControl(payload: Uint8Array): ControlFrame {
    const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
    const flags = this.#flags;
    const streamAt = (offset: number): number => {
      const id = view.getUint32(offset) & STREAM_ID_MASK;
      if (id === 0) throw new SpdyProtocolError("bad-stream-id", `Control frame of type ${this.#type} on stream 0`);
      return id;
    };
    switch (this.#type) {
      case ControlType.SYN_STREAM:
        return {
          type: "syn_stream",
          flags,
          streamId: streamAt(0),
          associatedStreamId: view.getUint32(4) & STREAM_ID_MASK,
          priority: payload[8]! >>> 5,
          slot: payload[9]!,
          headerBlock: payload.subarray(10),
        };
      case ControlType.SYN_REPLY:
        return { type: "syn_reply", flags, streamId: streamAt(0), headerBlock: payload.subarray(4) };
      case ControlType.HEADERS:
        return { type: "headers", flags, streamId: streamAt(0), headerBlock: payload.subarray(4) };
      case ControlType.RST_STREAM: {
        const streamId = streamAt(0);
        const status = view.getUint32(4);
        // spdystream refuses a status of 0 (spdy/read.go, InvalidControlFrame).
        if (status === 0) throw new SpdyProtocolError("bad-field", `RST_STREAM on stream ${streamId} with status 0`);
        return { type: "rst_stream", streamId, status };
      }
      case ControlType.SETTINGS: {
        const count = view.getUint32(0);
        if (payload.length !== 4 + 8 * count) {
          throw new SpdyProtocolError("bad-length", `SETTINGS of ${payload.length} octets announces ${count} entries`);
        }
        const entries: SettingsEntry[] = [];
        for (let i = 0; i < count; i++) {
          const flagsAndId = view.getUint32(4 + 8 * i);
          entries.push({ flags: flagsAndId >>> 24, id: flagsAndId & 0xffffff, value: view.getUint32(8 + 8 * i) });
        }
        return { type: "settings", flags, entries };
      }
      case ControlType.PING: {
        const id = view.getUint32(0);
        // spdystream refuses a PING ID of 0 (spdy/read.go, ZeroStreamId).
        if (id === 0) throw new SpdyProtocolError("bad-field", "PING with ID 0");
        return { type: "ping", id };
      }
      case ControlType.GOAWAY:
        return { type: "goaway", lastGoodStreamId: view.getUint32(0) & STREAM_ID_MASK, status: view.getUint32(4) };
      case ControlType.WINDOW_UPDATE:
        return { type: "window_update", streamId: view.getUint32(0) & STREAM_ID_MASK, delta: view.getUint32(4) };
      default:
        throw new SpdyProtocolError("bad-field", `Unexpected control frame type ${this.#type}`);
    }
  }
}

const KNOWN_TYPES: ReadonlySet<number> = new Set(Object.values(ControlType));

// The payload lengths draft 3 fixes or bounds for each control frame type (spdy/read.go checks the same).
function checkControlLength(type: number, length: number): void {
  const exact: Record<number, number> = {
    [ControlType.RST_STREAM]: 8,
    [ControlType.PING]: 4,
    [ControlType.GOAWAY]: 8,
    [ControlType.WINDOW_UPDATE]: 8,
  };
  const minimum: Record<number, number> = {
    [ControlType.SYN_STREAM]: 10,
    [ControlType.SYN_REPLY]: 4,
    [ControlType.HEADERS]: 4,
    [ControlType.SETTINGS]: 4,
  };
  const want = exact[type];
  if (want !== undefined && length !== want) {
    throw new SpdyProtocolError("bad-length", `Control frame of type ${type} must carry ${want} octets, not ${length}`);
  }
  const least = minimum[type];
  if (least !== undefined && length < least) {
    throw new SpdyProtocolError(
      "bad-length",
      `Control frame of type ${type} needs at least ${least} octets, not ${length}`,
    );
  }
}
