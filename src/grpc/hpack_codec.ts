/**
 * HPACK (RFC 7541) header block decoding and encoding with a per-connection dynamic table, built on the bit-level
 * reader/writer, static table and Huffman code of the `hpack.js` package. Used by the HTTP/2 rewriter in front of
 * grpc-js, which must decode what a client encoded and re-encode it for the server.
 * @module
 */

import hpackJs from "hpack.js";
import { Buffer } from "node:buffer";

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

// The parts of hpack.js used here; the package ships no types.
interface BitReader {
  push(chunk: Buffer): void;
  isEmpty(): boolean;
  decodeBit(): number;
  decodeInt(): number;
  decodeStr(): ArrayLike<number>;
}
interface BitWriter {
  encodeBit(bit: number): void;
  encodeBits(bits: number, length: number): void;
  encodeInt(value: number): void;
  encodeStr(value: number[], huffman: boolean): void;
  render(): Buffer[];
}
interface TableEntry {
  name: string;
  value: string;
  nameSize: number;
}
interface Table {
  lookup(index: number): TableEntry;
  reverseLookup(name: string, value: string): number;
  add(name: string, value: string, nameSize: number, valueSize: number): void;
  updateSize(size: number): void;
}
interface HpackModule {
  decoder: { create(): BitReader };
  encoder: { create(): BitWriter };
  table: { create(options: { maxSize: number }): Table };
  huffman: { encode: Array<[bits: number, code: number]> };
  utils: { stringify(octets: ArrayLike<number>): string; toArray(text: string): number[] };
}
const hpack = hpackJs as HpackModule;

/** The error thrown for a header block that is not valid HPACK. */
export class HpackError extends Error {
  /** Creates the error; `cause` is what hpack.js threw, if anything. */
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "HpackError";
  }
}

/** Decodes the header blocks of one connection direction, keeping that direction's dynamic table across blocks. */
export class HpackDecoder {
  readonly #table: Table;

  /** Creates a decoder whose dynamic table may grow to `maxTableSize` octets (what the peer was told). */
  constructor(maxTableSize = DEFAULT_HEADER_TABLE_SIZE) {
    this.#table = hpack.table.create({ maxSize: maxTableSize });
  }

  /** Decodes one complete header block (all HEADERS/CONTINUATION fragments joined). */
  decode(block: Uint8Array): HeaderField[] {
    const reader = hpack.decoder.create();
    reader.push(Buffer.from(block.buffer, block.byteOffset, block.byteLength));
    const fields: HeaderField[] = [];
    try {
      while (!reader.isEmpty()) {
        const field = this.#decodeOne(reader);
        if (field) fields.push(field);
      }
    } catch (err) {
      throw new HpackError(`Invalid HPACK header block: ${err instanceof Error ? err.message : String(err)}`, {
        cause: err,
      });
    }
    return fields;
  }

  // One representation (RFC 7541 §6); a dynamic table size update yields no field.
  #decodeOne(reader: BitReader): HeaderField | undefined {
    if (reader.decodeBit() === 1) {
      const entry = this.#table.lookup(reader.decodeInt());
      return { name: entry.name, value: entry.value, neverIndex: false };
    }
    const incremental = reader.decodeBit() === 1;
    let neverIndex = false;
    if (!incremental) {
      if (reader.decodeBit() === 1) {
        this.#table.updateSize(reader.decodeInt());
        return undefined;
      }
      neverIndex = reader.decodeBit() === 1;
    }
    const index = reader.decodeInt();
    let name: string;
    let nameSize: number;
    if (index === 0) {
      const octets = reader.decodeStr();
      nameSize = octets.length;
      name = hpack.utils.stringify(octets);
    } else {
      const entry = this.#table.lookup(index);
      name = entry.name;
      nameSize = entry.nameSize;
    }
    const octets = reader.decodeStr();
    const value = hpack.utils.stringify(octets);
    if (incremental) this.#table.add(name, value, nameSize, octets.length);
    return { name, value, neverIndex };
  }
}

/** Encodes header blocks for one connection direction, keeping a dynamic table the peer's decoder mirrors. */
export class HpackEncoder {
  readonly #table: Table;

  /** Creates an encoder whose dynamic table stays within `maxTableSize` octets (the peer's advertised limit). */
  constructor(maxTableSize = DEFAULT_HEADER_TABLE_SIZE) {
    this.#table = hpack.table.create({ maxSize: maxTableSize });
  }

  /** Encodes `fields` into one header block, indexing fields incrementally except those marked `neverIndex`. */
  encode(fields: readonly HeaderField[]): Uint8Array {
    const writer = hpack.encoder.create();
    for (const field of fields) this.#encodeOne(writer, field);
    return Buffer.concat(writer.render());
  }

  #encodeOne(writer: BitWriter, field: HeaderField): void {
    const found = this.#table.reverseLookup(field.name, field.value);
    const name = hpack.utils.toArray(field.name);
    const value = hpack.utils.toArray(field.value);
    if (field.neverIndex) {
      // 0001: literal never indexed, 4-bit name index (RFC 7541 §6.2.3).
      writer.encodeBits(0b0001, 4);
      writer.encodeInt(Math.abs(found));
    } else if (found > 0) {
      // 1: indexed field (§6.1).
      writer.encodeBit(1);
      writer.encodeInt(found);
      return;
    } else {
      // 01: literal with incremental indexing, 6-bit name index (§6.2.1).
      writer.encodeBits(0b01, 2);
      writer.encodeInt(-found);
      this.#table.add(field.name, field.value, name.length, value.length);
    }
    if (found === 0) writeString(writer, name);
    writeString(writer, value);
  }
}

// A string literal, Huffman-coded only when that is shorter (RFC 7541 §5.2).
function writeString(writer: BitWriter, octets: number[]): void {
  let bits = 0;
  for (const octet of octets) bits += hpack.huffman.encode[octet]?.[0] ?? 8;
  writer.encodeStr(octets, Math.ceil(bits / 8) < octets.length);
}
