/**
 * The static Huffman code of HPACK string literals (RFC 7541 §5.2, Appendix B). The code is canonical: codes are
 * assigned in order of length, then of symbol, so the 257 code lengths below are all the data there is; codes and
 * decoding tables are derived from them when the module loads. Strings are latin1: one character per octet.
 * @module
 */

import { HpackError } from "./hpack_error.ts";

/** The end-of-string symbol (RFC 7541 Appendix B); it must never appear in an encoded string (§5.2). */
export const EOS = 256;

// The length in bits of the code of each symbol 0..256, transcribed from RFC 7541 Appendix B, 16 symbols a row.
const CODE_LENGTHS: readonly number[] = [
  "13 23 28 28 28 28 28 28 28 24 30 28 28 30 28 28", //   0-15  control characters
  "28 28 28 28 28 28 30 28 28 28 28 28 28 28 28 28", //  16-31
  " 6 10 10 12 13  6  8 11 10 10  8 11  8  6  6  6", //  32-47  space ! " # $ % & ' ( ) * + , - . /
  " 5  5  5  6  6  6  6  6  6  6  7  8 15  6 12 10", //  48-63  0-9 : ; < = > ?
  "13  6  7  7  7  7  7  7  7  7  7  7  7  7  7  7", //  64-79  @ A-O
  " 7  7  7  7  7  7  7  7  8  7  8 13 19 13 14  6", //  80-95  P-Z [ \ ] ^ _
  "15  5  6  5  6  5  6  6  6  5  7  7  6  6  6  5", //  96-111 ` a-o
  " 6  7  6  5  5  6  7  7  7  7  7 15 11 14 13 28", // 112-127 p-z { | } ~ DEL
  "20 22 20 20 22 22 22 23 22 23 23 23 23 23 24 23", // 128-143
  "24 24 22 23 24 23 23 23 23 21 22 23 22 23 23 24", // 144-159
  "22 21 20 22 22 23 23 21 23 22 22 24 21 22 23 23", // 160-175
  "21 21 22 21 23 22 23 23 20 22 22 22 23 22 22 23", // 176-191
  "26 26 20 19 22 23 22 25 26 26 26 27 27 26 24 25", // 192-207
  "19 21 26 27 27 26 27 24 21 21 26 26 28 27 27 27", // 208-223
  "20 24 20 21 22 21 21 23 22 22 25 25 24 24 26 23", // 224-239
  "26 27 26 26 27 27 27 27 27 28 27 27 27 27 27 26", // 240-255
  "30", //                                              256     EOS
].join(" ").trim().split(/\s+/).map(Number);

const MAX_CODE_LENGTH = 30;

// Symbols in code order (by length, then symbol), and how many codes each length has.
const SYMBOLS_IN_CODE_ORDER = CODE_LENGTHS.map((_, symbol) => symbol)
  .sort((a, b) => CODE_LENGTHS[a]! - CODE_LENGTHS[b]! || a - b);
const CODES_PER_LENGTH = new Array<number>(MAX_CODE_LENGTH + 1).fill(0);
for (const length of CODE_LENGTHS) CODES_PER_LENGTH[length]!++;

// Canonical assignment: each code is the previous one plus one, shifted left when the length grows.
const CODES = new Array<number>(CODE_LENGTHS.length).fill(0);
{
  let code = 0;
  let length = CODE_LENGTHS[SYMBOLS_IN_CODE_ORDER[0]!]!;
  for (const symbol of SYMBOLS_IN_CODE_ORDER) {
    const symbolLength = CODE_LENGTHS[symbol]!;
    code *= 2 ** (symbolLength - length);
    length = symbolLength;
    CODES[symbol] = code++;
  }
}

/** Returns the code of `symbol` (0..256) as its value and its length in bits, MSB first (RFC 7541 Appendix B). */
export function huffmanCode(symbol: number): { code: number; length: number } {
  const length = CODE_LENGTHS[symbol];
  if (length === undefined) throw new RangeError(`No Huffman code for symbol ${symbol}`);
  return { code: CODES[symbol]!, length };
}

/** Returns how many octets the Huffman coding of the latin1 `text` takes, padding included. */
export function huffmanEncodedLength(text: string): number {
  let bits = 0;
  for (let i = 0; i < text.length; i++) bits += CODE_LENGTHS[text.charCodeAt(i)]!;
  return Math.ceil(bits / 8);
}

/**
 * Writes the Huffman coding of the latin1 `text` into `out` at `offset` and returns the offset after it; `out` must
 * have room for {@link huffmanEncodedLength} octets.
 */
export function huffmanEncodeInto(text: string, out: Uint8Array, offset: number): number {
  // Pending bits: fewer than 8 between symbols, so at most 7 + 30 bits, exact in a double (bit operators stop at 32).
  let pending = 0;
  let bits = 0;
  for (let i = 0; i < text.length; i++) {
    const symbol = text.charCodeAt(i);
    const length = CODE_LENGTHS[symbol]!;
    pending = pending * 2 ** length + CODES[symbol]!;
    bits += length;
    while (bits >= 8) {
      bits -= 8;
      const octet = Math.floor(pending / 2 ** bits);
      out[offset++] = octet;
      pending -= octet * 2 ** bits;
    }
  }
  // §5.2: the last octet is padded with the most significant bits of EOS, which are all ones.
  if (bits > 0) out[offset++] = pending * 2 ** (8 - bits) + 2 ** (8 - bits) - 1;
  return offset;
}

/**
 * Decodes a Huffman-coded string literal into its octets. Throws {@link HpackError} when it contains EOS, or when
 * the padding is longer than 7 bits or not all ones (RFC 7541 §5.2).
 */
export function huffmanDecode(encoded: Uint8Array): Uint8Array {
  const out = new Uint8Array(Math.floor(encoded.length * 8 / 5)); // the shortest code has 5 bits
  let written = 0;
  // Canonical decoding, one bit at a time: `code` holds the bits of the current symbol so far; the codes of `length`
  // bits are first..first+count-1 and belong to SYMBOLS_IN_CODE_ORDER[index..].
  let code = 0;
  let first = 0;
  let index = 0;
  let length = 0;
  let allOnes = true;
  for (const octet of encoded) {
    for (let shift = 7; shift >= 0; shift--) {
      const bit = (octet >> shift) & 1;
      code += bit;
      length++;
      allOnes &&= bit === 1;
      const count = CODES_PER_LENGTH[length]!;
      if (code - first < count) {
        const symbol = SYMBOLS_IN_CODE_ORDER[index + code - first]!;
        if (symbol === EOS) throw new HpackError("Huffman-coded string contains EOS");
        out[written++] = symbol;
        code =
          first =
          index =
          length =
            0;
        allOnes = true;
      } else {
        if (length === MAX_CODE_LENGTH) throw new HpackError("Invalid Huffman code"); // the code is complete: unreachable
        index += count;
        first = (first + count) * 2;
        code *= 2;
      }
    }
  }
  if (length > 7) throw new HpackError(`Huffman padding of ${length} bits is longer than 7 bits`);
  if (!allOnes) throw new HpackError("Huffman padding is not the most significant bits of EOS");
  return out.subarray(0, written);
}
