/**
 * HPACK (RFC 7541) header block decoding and encoding with a per-connection dynamic table. Used by the HTTP/2
 * rewriter in front of grpc-js, which must decode what a client encoded and re-encode it for the server.
 * @module
 */

import { HpackError } from "./hpack_error.ts";
import { huffmanDecode, huffmanEncodedLength, huffmanEncodeInto } from "./hpack_huffman.ts";
import { entrySize, HeaderTable, type TableEntry } from "./hpack_table.ts";

export { HpackError } from "./hpack_error.ts";

/** One header field of a block; `name` and `value` hold one character per octet (latin1), so bytes round-trip. */
export interface HeaderField {
  /** Field name, lower case in HTTP/2. */
  name: string;
  /** Field value. */
  value: string;
  /** The encoder asked that no intermediary index this field (RFC 7541 §6.2.3); kept when re-encoding. */
  neverIndex: boolean;
}

/** The default SETTINGS_HEADER_TABLE_SIZE of HTTP/2 (RFC 9113 §6.5.2), also what Deno's `node:http2` advertises. */
export const DEFAULT_HEADER_TABLE_SIZE = 4096;

// Integers (§5.1) above this are refused: far beyond any index, table size or string length a block can hold, and
// low enough that the arithmetic stays exact. Five continuation octets already carry 35 bits.
const MAX_INTEGER = 2 ** 31 - 1;
const MAX_CONTINUATION_OCTETS = 5;

/**
 * Decodes the header blocks of one connection direction, keeping that direction's dynamic table across blocks.
 * After it throws, its table is no longer in step with the peer's: the connection must end (RFC 9113 §4.3).
 */
export class HpackDecoder {
  readonly #table: HeaderTable;
  readonly #maxTableSize: number;

  /** Creates a decoder whose dynamic table may grow to `maxTableSize` octets (what the peer was told). */
  constructor(maxTableSize = DEFAULT_HEADER_TABLE_SIZE) {
    this.#table = new HeaderTable(maxTableSize);
    this.#maxTableSize = maxTableSize;
  }

  /** Decodes one complete header block (all HEADERS/CONTINUATION fragments joined); throws {@link HpackError}. */
  decode(block: Uint8Array): HeaderField[] {
    try {
      return this.#decode(new BlockReader(block));
    } catch (err) {
      if (err instanceof HpackError) throw err;
      throw new HpackError(`Invalid HPACK header block: ${err instanceof Error ? err.message : String(err)}`, {
        cause: err,
      });
    }
  }

  #decode(reader: BlockReader): HeaderField[] {
    const fields: HeaderField[] = [];
    while (!reader.atEnd) {
      const first = reader.octet();
      if (first & 0x80) {
        // 1xxxxxxx: indexed field (§6.1).
        const { name, value } = this.#entry(reader.integer(first, 7));
        fields.push({ name, value, neverIndex: false });
      } else if (first & 0x40) {
        // 01xxxxxx: literal with incremental indexing (§6.2.1).
        const field = this.#literal(reader, first, 6, false);
        this.#table.add(field.name, field.value);
        fields.push(field);
      } else if (first & 0x20) {
        // 001xxxxx: dynamic table size update (§6.3), allowed only before the first field of a block (§4.2).
        if (fields.length > 0) throw new HpackError("Dynamic table size update after a header field");
        const size = reader.integer(first, 5);
        if (size > this.#maxTableSize) {
          throw new HpackError(`Dynamic table size update to ${size} exceeds the limit of ${this.#maxTableSize}`);
        }
        this.#table.setMaxSize(size);
      } else {
        // 0000xxxx: literal without indexing (§6.2.2); 0001xxxx: literal never indexed (§6.2.3).
        fields.push(this.#literal(reader, first, 4, (first & 0x10) !== 0));
      }
    }
    return fields;
  }

  // A literal's name index (0: a literal name follows) in the low `prefixBits` of `first`, then its value (§6.2).
  #literal(reader: BlockReader, first: number, prefixBits: number, neverIndex: boolean): HeaderField {
    const index = reader.integer(first, prefixBits);
    const name = index === 0 ? reader.string() : this.#entry(index).name;
    return { name, value: reader.string(), neverIndex };
  }

  #entry(index: number): TableEntry {
    const entry = this.#table.get(index);
    if (!entry) throw new HpackError(`Index ${index} is not in the static or dynamic table`);
    return entry;
  }
}

/** Encodes header blocks for one connection direction, keeping a dynamic table the peer's decoder mirrors. */
export class HpackEncoder {
  readonly #table: HeaderTable;

  /** Creates an encoder whose dynamic table stays within `maxTableSize` octets (the peer's advertised limit). */
  constructor(maxTableSize = DEFAULT_HEADER_TABLE_SIZE) {
    this.#table = new HeaderTable(maxTableSize);
  }

  /**
   * Encodes `fields` into one header block, indexing fields incrementally except those marked `neverIndex`. Throws
   * {@link HpackError}, before touching the table, for a name or value with a character above U+00FF.
   */
  encode(fields: readonly HeaderField[]): Uint8Array {
    for (const { name, value } of fields) {
      if (NOT_LATIN1.test(name) || NOT_LATIN1.test(value)) {
        throw new HpackError(`Header field ${JSON.stringify(name)} has a character that is not one octet`);
      }
    }
    const writer = new BlockWriter();
    for (const field of fields) this.#encodeOne(writer, field);
    return writer.finish();
  }

  #encodeOne(writer: BlockWriter, { name, value, neverIndex }: HeaderField): void {
    const match = this.#table.find(name, value);
    if (neverIndex) {
      // 0001: literal never indexed, 4-bit name index (§6.2.3); an intermediary must keep it so (§7.1.3).
      writer.integer(0x10, 4, match?.index ?? 0);
    } else if (match?.exact) {
      // 1: indexed field (§6.1).
      writer.integer(0x80, 7, match.index);
      return;
    } else if (entrySize(name, value) > this.#table.maxSize) {
      // 0000: literal without indexing (§6.2.2): adding an entry that cannot fit would only empty the table (§4.4).
      writer.integer(0x00, 4, match?.index ?? 0);
    } else {
      // 01: literal with incremental indexing, 6-bit name index (§6.2.1); the peer's decoder adds it the same way.
      writer.integer(0x40, 6, match?.index ?? 0);
      this.#table.add(name, value);
    }
    if (!match) writer.string(name);
    writer.string(value);
  }
}

// Any UTF-16 code unit above 0xff: such a string has no latin1 octets.
const NOT_LATIN1 = /[\u0100-\uffff]/;

// A header block being read, octet by octet; every read past the end throws HpackError.
class BlockReader {
  readonly #octets: Uint8Array;
  #pos = 0;

  constructor(octets: Uint8Array) {
    this.#octets = octets;
  }

  get atEnd(): boolean {
    return this.#pos >= this.#octets.length;
  }

  octet(): number {
    if (this.#pos >= this.#octets.length) throw new HpackError("Header block ends inside a field representation");
    return this.#octets[this.#pos++]!;
  }

  // An integer (§5.1) whose prefix is the low `prefixBits` bits of `first`, the octet already read.
  integer(first: number, prefixBits: number): number {
    const prefixMax = (1 << prefixBits) - 1;
    let value = first & prefixMax;
    if (value < prefixMax) return value;
    for (let i = 0, weight = 1; i < MAX_CONTINUATION_OCTETS; i++, weight *= 128) {
      const octet = this.octet();
      value += (octet & 0x7f) * weight;
      if (value > MAX_INTEGER) throw new HpackError(`Integer above ${MAX_INTEGER}`);
      if ((octet & 0x80) === 0) return value;
    }
    throw new HpackError(`Integer with more than ${MAX_CONTINUATION_OCTETS} continuation octets`);
  }

  // A string literal (§5.2): H flag, 7-bit prefixed length, raw or Huffman-coded octets.
  string(): string {
    const first = this.octet();
    const length = this.integer(first, 7);
    if (length > this.#octets.length - this.#pos) throw new HpackError("String literal runs past the header block");
    const octets = this.#octets.subarray(this.#pos, this.#pos + length);
    this.#pos += length;
    return latin1(first & 0x80 ? huffmanDecode(octets) : octets);
  }
}

// A header block being written into a buffer that grows as needed.
class BlockWriter {
  #buffer = new Uint8Array(256);
  #pos = 0;

  // An integer (§5.1) in the low `prefixBits` bits of a first octet whose high bits are `pattern`.
  integer(pattern: number, prefixBits: number, value: number): void {
    this.#reserve(6);
    const prefixMax = (1 << prefixBits) - 1;
    if (value < prefixMax) {
      this.#buffer[this.#pos++] = pattern | value;
      return;
    }
    this.#buffer[this.#pos++] = pattern | prefixMax;
    let rest = value - prefixMax;
    while (rest >= 128) {
      this.#buffer[this.#pos++] = (rest % 128) | 0x80;
      rest = Math.floor(rest / 128);
    }
    this.#buffer[this.#pos++] = rest;
  }

  // A string literal (§5.2), Huffman-coded only when that is shorter.
  string(text: string): void {
    const huffmanLength = huffmanEncodedLength(text);
    if (huffmanLength < text.length) {
      this.integer(0x80, 7, huffmanLength);
      this.#reserve(huffmanLength);
      this.#pos = huffmanEncodeInto(text, this.#buffer, this.#pos);
      return;
    }
    this.integer(0x00, 7, text.length);
    this.#reserve(text.length);
    for (let i = 0; i < text.length; i++) this.#buffer[this.#pos++] = text.charCodeAt(i);
  }

  finish(): Uint8Array {
    return this.#buffer.subarray(0, this.#pos);
  }

  #reserve(octets: number): void {
    if (this.#pos + octets <= this.#buffer.length) return;
    const grown = new Uint8Array(Math.max(this.#buffer.length * 2, this.#pos + octets));
    grown.set(this.#buffer.subarray(0, this.#pos));
    this.#buffer = grown;
  }
}

// Octets as a string of one character each; in slices, since apply() has an argument limit.
function latin1(octets: Uint8Array): string {
  let text = "";
  for (let i = 0; i < octets.length; i += 8192) {
    text += String.fromCharCode.apply(null, octets.subarray(i, i + 8192) as unknown as number[]);
  }
  return text;
}
