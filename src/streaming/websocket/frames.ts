/**
 * Channel framing of Kubernetes' WebSocket streams: every message starts with the channel it belongs to. Binary
 * protocols prefix the raw bytes with one channel byte; base64 protocols send a text message of one ASCII channel
 * digit and the base64 of the bytes. On binary protocols, channel 255 is the close signal: `[255, n]` half-closes
 * channel `n`.
 *
 * Sources: kubernetes/kubernetes staging/src/k8s.io/apimachinery/pkg/util/httpstream/wsstream/conn.go (`write`,
 * `handle`, `DataFromSocket`) and staging/src/k8s.io/apimachinery/pkg/util/remotecommand/constants.go (`StreamClose`).
 * @module
 */
import { Buffer } from "node:buffer";
import type { ChannelProtocol } from "./protocols.ts";

/** The channel byte of v5's close signal, followed by the number of the channel being closed. */
export const STREAM_CLOSE = 255;

/** The highest channel a base64 frame can name: `'0' + 79` is the last 7-bit character, so a text frame stays ASCII. */
export const MAX_BASE64_CHANNEL = 79;

/** The highest data channel of a binary frame (255 is the close signal). */
export const MAX_BINARY_CHANNEL = 254;

/** What one client message says. */
export type ChannelMessage =
  /** No bytes at all: wsstream skips these. */
  | { kind: "empty" }
  /** Bytes for `channel` (possibly none: a message of just the channel byte). */
  | { kind: "data"; channel: number; payload: Uint8Array }
  /** The close signal: the client will send nothing more on `channel`. */
  | { kind: "close"; channel: number }
  /** A message that cannot be read; `reason` says why, for the client. */
  | { kind: "invalid"; reason: string };

/** The message carrying `payload` on `channel`: bytes for a binary protocol, text for a base64 one. */
export function encodeFrame(
  encoding: ChannelProtocol["encoding"],
  channel: number,
  payload: Uint8Array,
): Uint8Array | string {
  if (encoding === "base64") {
    // wsstream: string('0'+num) + base64.StdEncoding.EncodeToString(data), sent as a text message.
    if (!Number.isInteger(channel) || channel < 0 || channel > MAX_BASE64_CHANNEL) {
      throw new RangeError(`channel ${channel} cannot be named in a base64 frame`);
    }
    return String.fromCharCode(48 + channel) + Buffer.from(payload.buffer, payload.byteOffset, payload.length)
      .toString("base64");
  }
  if (!Number.isInteger(channel) || channel < 0 || channel > MAX_BINARY_CHANNEL) {
    throw new RangeError(`channel ${channel} cannot be named in a binary frame`);
  }
  // wsstream: frame[0] = num; copy(frame[1:], data), sent as a binary message.
  const frame = new Uint8Array(payload.length + 1);
  frame[0] = channel;
  frame.set(payload, 1);
  return frame;
}

/** v5's close signal for `channel`: the bytes client-go's `stream.Close()` sends. */
export function encodeCloseSignal(channel: number): Uint8Array {
  return Uint8Array.of(STREAM_CLOSE, channel);
}

// Go's base64.StdEncoding: padded, standard alphabet; Decode skips '\r' and '\n' and rejects anything else.
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * Reads one client message. wsstream reads text and binary messages alike, so the frame type does not matter; the
 * protocol's encoding does. The close signal is read on every binary protocol: wsstream parses it only for v5 and drops
 * `[255, n]` elsewhere as a frame for a channel it does not have, but client-go sends it whenever it closes stdin, and
 * it can mean nothing else.
 */
export function decodeMessage(encoding: ChannelProtocol["encoding"], data: Uint8Array): ChannelMessage {
  if (data.length === 0) return { kind: "empty" };
  const first = data[0]!;
  if (encoding === "binary") {
    if (first !== STREAM_CLOSE) return { kind: "data", channel: first, payload: data.subarray(1) };
    // wsstream: "Single channel byte should follow stream close signal", and it ends the connection otherwise.
    if (data.length !== 2) {
      return {
        kind: "invalid",
        reason: `the close signal (channel 255) takes exactly one channel byte, got ${data.length - 1}`,
      };
    }
    return { kind: "close", channel: data[1]! };
  }
  const channel = first - 48;
  if (channel < 0 || channel > MAX_BASE64_CHANNEL) {
    return { kind: "invalid", reason: `a base64 message must start with a channel digit, got byte ${first}` };
  }
  const text = Buffer.from(data.buffer, data.byteOffset + 1, data.length - 1).toString("latin1").replace(/[\r\n]/g, "");
  if (!BASE64.test(text)) return { kind: "invalid", reason: `channel ${channel}: the message is not valid base64` };
  const bytes = Buffer.from(text, "base64");
  return { kind: "data", channel, payload: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length) };
}
