/**
 * The SPDY/3 name/value header block (draft 3, §2.6.10), before compression: a 32-bit count, then each name and value
 * with a 32-bit length; several values of one name are joined with NUL. spdystream writes names in lower case and
 * joins values the same way (spdy/write.go writeHeaderValueBlock), and reads them back split on NUL
 * (spdy/read.go parseHeaderValueBlock).
 * @module
 */

import { SpdyProtocolError } from "./errors.ts";

/** Header names (lower case) and their values, in the order they came or are sent. */
export type SpdyHeaders = Map<string, string[]>;

/** The first value of `name` (case-insensitive), as Go's `http.Header.Get` gives it; undefined when absent. */
export function headerValue(headers: SpdyHeaders, name: string): string | undefined {
  return headers.get(name.toLowerCase())?.[0];
}

/** Builds a {@link SpdyHeaders} from plain pairs; names are lower-cased, repeated names gather their values. */
export function spdyHeaders(pairs: Iterable<readonly [string, string]> = []): SpdyHeaders {
  const headers: SpdyHeaders = new Map();
  for (const [name, value] of pairs) {
    const key = name.toLowerCase();
    const values = headers.get(key);
    if (values) values.push(value);
    else headers.set(key, [value]);
  }
  return headers;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: false });

/** Encodes `headers` as an uncompressed name/value block (names lower-cased, values joined with NUL). */
export function encodeHeaderBlock(headers: SpdyHeaders): Uint8Array {
  const fields = [...headers].map((
    [name, values],
  ) => [encoder.encode(name.toLowerCase()), encoder.encode(values.join("\0"))]);
  const size = fields.reduce((n, [name, value]) => n + 8 + name!.length + value!.length, 4);
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  view.setUint32(0, fields.length);
  let offset = 4;
  for (const [name, value] of fields) {
    view.setUint32(offset, name!.length);
    out.set(name!, offset + 4);
    offset += 4 + name!.length;
    view.setUint32(offset, value!.length);
    out.set(value!, offset + 4);
    offset += 4 + value!.length;
  }
  return out;
}

/**
 * Decodes an uncompressed name/value block. Throws {@link SpdyProtocolError} (`bad-header-block`) when it is
 * truncated, has octets left over, or has an empty name. Like spdystream, it lower-cases names and gathers the values
 * of a repeated name rather than refusing them.
 */
export function decodeHeaderBlock(block: Uint8Array): SpdyHeaders {
  const view = new DataView(block.buffer, block.byteOffset, block.byteLength);
  const fail = (what: string): never => {
    throw new SpdyProtocolError("bad-header-block", `Malformed name/value header block: ${what}`);
  };
  let offset = 0;
  const readString = (what: string): string => {
    if (offset + 4 > block.length) fail(`truncated before the length of a ${what}`);
    const length = view.getUint32(offset);
    offset += 4;
    if (length > block.length - offset) fail(`a ${what} of ${length} octets overruns the block`);
    const text = decoder.decode(block.subarray(offset, offset + length));
    offset += length;
    return text;
  };
  if (block.length < 4) fail("shorter than its count");
  const count = view.getUint32(0);
  offset = 4;
  // Each pair takes at least 8 octets: a count larger than that is a lie, not a reason to loop.
  if (count > (block.length - 4) / 8) fail(`${count} pairs cannot fit in ${block.length} octets`);
  const headers: SpdyHeaders = new Map();
  for (let i = 0; i < count; i++) {
    const name = readString("name").toLowerCase();
    if (name.length === 0) fail("an empty header name");
    const values = readString("value").split("\0");
    const known = headers.get(name);
    if (known) known.push(...values);
    else headers.set(name, values);
  }
  if (offset !== block.length) fail(`${block.length - offset} octets after the last pair`);
  return headers;
}
