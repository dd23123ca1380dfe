import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { HpackError } from "./hpack_error.ts";
import { EOS, huffmanCode, huffmanDecode, huffmanEncodedLength, huffmanEncodeInto } from "./hpack_huffman.ts";

const hex = (s: string) => new Uint8Array(Buffer.from(s.replaceAll(" ", ""), "hex"));
const latin1 = (octets: Uint8Array) => Buffer.from(octets).toString("latin1");

function encode(text: string): Uint8Array {
  const out = new Uint8Array(huffmanEncodedLength(text));
  assert.equal(huffmanEncodeInto(text, out, 0), out.length);
  return out;
}

// Every Huffman-coded string literal of RFC 7541 Appendix C.4 and C.6.
const RFC_STRINGS: Array<[encoded: string, text: string]> = [
  ["f1e3 c2e5 f23a 6ba0 ab90 f4ff", "www.example.com"],
  ["a8eb 1064 9cbf", "no-cache"],
  ["25a8 49e9 5ba9 7d7f", "custom-key"],
  ["25a8 49e9 5bb8 e8b4 bf", "custom-value"],
  ["6402", "302"],
  ["aec3 771a 4b", "private"],
  ["d07a be94 1054 d444 a820 0595 040b 8166 e082 a62d 1bff", "Mon, 21 Oct 2013 20:13:21 GMT"],
  ["9d29 ad17 1863 c78f 0b97 c8e9 ae82 ae43 d3", "https://www.example.com"],
  ["640e ff", "307"],
  ["d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff", "Mon, 21 Oct 2013 20:13:22 GMT"],
  ["9bd9 ab", "gzip"],
  [
    "94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f 9587 3160 65c0 03ed 4ee5 b106 3d50 07",
    "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1",
  ],
];

// The "code as hex" column of RFC 7541 Appendix B, symbols 0..256, 8 a row: a second transcription, independent of
// the code lengths the module derives its codes from.
const APPENDIX_B_CODES = [
  "1ff8 7fffd8 fffffe2 fffffe3 fffffe4 fffffe5 fffffe6 fffffe7", // 0-7
  "fffffe8 ffffea 3ffffffc fffffe9 fffffea 3ffffffd fffffeb fffffec", // 8-15
  "fffffed fffffee fffffef ffffff0 ffffff1 ffffff2 3ffffffe ffffff3", // 16-23
  "ffffff4 ffffff5 ffffff6 ffffff7 ffffff8 ffffff9 ffffffa ffffffb", // 24-31
  "14 3f8 3f9 ffa 1ff9 15 f8 7fa", // 32-39
  "3fa 3fb f9 7fb fa 16 17 18", // 40-47
  "0 1 2 19 1a 1b 1c 1d", // 48-55
  "1e 1f 5c fb 7ffc 20 ffb 3fc", // 56-63
  "1ffa 21 5d 5e 5f 60 61 62", // 64-71
  "63 64 65 66 67 68 69 6a", // 72-79
  "6b 6c 6d 6e 6f 70 71 72", // 80-87
  "fc 73 fd 1ffb 7fff0 1ffc 3ffc 22", // 88-95
  "7ffd 3 23 4 24 5 25 26", // 96-103
  "27 6 74 75 28 29 2a 7", // 104-111
  "2b 76 2c 8 9 2d 77 78", // 112-119
  "79 7a 7b 7ffe 7fc 3ffd 1ffd ffffffc", // 120-127
  "fffe6 3fffd2 fffe7 fffe8 3fffd3 3fffd4 3fffd5 7fffd9", // 128-135
  "3fffd6 7fffda 7fffdb 7fffdc 7fffdd 7fffde ffffeb 7fffdf", // 136-143
  "ffffec ffffed 3fffd7 7fffe0 ffffee 7fffe1 7fffe2 7fffe3", // 144-151
  "7fffe4 1fffdc 3fffd8 7fffe5 3fffd9 7fffe6 7fffe7 ffffef", // 152-159
  "3fffda 1fffdd fffe9 3fffdb 3fffdc 7fffe8 7fffe9 1fffde", // 160-167
  "7fffea 3fffdd 3fffde fffff0 1fffdf 3fffdf 7fffeb 7fffec", // 168-175
  "1fffe0 1fffe1 3fffe0 1fffe2 7fffed 3fffe1 7fffee 7fffef", // 176-183
  "fffea 3fffe2 3fffe3 3fffe4 7ffff0 3fffe5 3fffe6 7ffff1", // 184-191
  "3ffffe0 3ffffe1 fffeb 7fff1 3fffe7 7ffff2 3fffe8 1ffffec", // 192-199
  "3ffffe2 3ffffe3 3ffffe4 7ffffde 7ffffdf 3ffffe5 fffff1 1ffffed", // 200-207
  "7fff2 1fffe3 3ffffe6 7ffffe0 7ffffe1 3ffffe7 7ffffe2 fffff2", // 208-215
  "1fffe4 1fffe5 3ffffe8 3ffffe9 ffffffd 7ffffe3 7ffffe4 7ffffe5", // 216-223
  "fffec fffff3 fffed 1fffe6 3fffe9 1fffe7 1fffe8 7ffff3", // 224-231
  "3fffea 3fffeb 1ffffee 1ffffef fffff4 fffff5 3ffffea 7ffff4", // 232-239
  "3ffffeb 7ffffe6 3ffffec 3ffffed 7ffffe7 7ffffe8 7ffffe9 7ffffea", // 240-247
  "7ffffeb ffffffe 7ffffec 7ffffed 7ffffee 7ffffef 7fffff0 3ffffee", // 248-255
  "3fffffff", // 256 (EOS)
].join(" ").split(" ").map((code) => parseInt(code, 16));

Deno.test("huffmanCode() derives every code of RFC 7541 Appendix B from the code lengths", () => {
  assert.equal(APPENDIX_B_CODES.length, EOS + 1);
  APPENDIX_B_CODES.forEach((code, symbol) => assert.equal(huffmanCode(symbol).code, code, `symbol ${symbol}`));
});

Deno.test("huffmanCode() gives the RFC 7541 Appendix B code lengths", () => {
  // [symbol, code as hex, length]: rows of Appendix B from each code length group and both ends of the table.
  const rows: Array<[number, number, number]> = [
    [0, 0x1ff8, 13],
    [1, 0x7fffd8, 23],
    [9, 0xffffea, 24],
    [10, 0x3ffffffc, 30],
    [32, 0x14, 6],
    [47, 0x18, 6],
    [48, 0x0, 5],
    [58, 0x5c, 7],
    [88, 0xfc, 8],
    [63, 0x3fc, 10],
    [39, 0x7fa, 11],
    [35, 0xffa, 12],
    [94, 0x3ffc, 14],
    [60, 0x7ffc, 15],
    [92, 0x7fff0, 19],
    [128, 0xfffe6, 20],
    [153, 0x1fffdc, 21],
    [129, 0x3fffd2, 22],
    [199, 0x1ffffec, 25],
    [192, 0x3ffffe0, 26],
    [203, 0x7ffffde, 27],
    [127, 0xffffffc, 28],
    [116, 0x9, 5],
    [122, 0x7b, 7],
    [126, 0x1ffd, 13],
    [254, 0x7fffff0, 27],
    [255, 0x3ffffee, 26],
    [EOS, 0x3fffffff, 30],
  ];
  for (const [symbol, code, length] of rows) {
    assert.deepEqual(huffmanCode(symbol), { code, length }, `symbol ${symbol}`);
  }
  assert.throws(() => huffmanCode(257), RangeError);
});

Deno.test("huffmanCode() is a complete prefix code whose all-ones codes are only EOS", () => {
  // Kraft's sum is exactly 1 for a complete code: every bit string decodes within 30 bits.
  let kraft = 0;
  const seen = new Set<string>();
  for (let symbol = 0; symbol <= EOS; symbol++) {
    const { code, length } = huffmanCode(symbol);
    kraft += 2 ** -length;
    seen.add(code.toString(2).padStart(length, "0"));
    if (symbol !== EOS) assert.notEqual(code, 2 ** length - 1, `symbol ${symbol} is all ones`);
  }
  assert.equal(kraft, 1);
  assert.equal(seen.size, EOS + 1);
  for (const a of seen) for (const b of seen) if (a !== b) assert.ok(!b.startsWith(a), `${a} is a prefix of ${b}`);
});

Deno.test("huffmanDecode() decodes the RFC 7541 C.4 and C.6 string literals", () => {
  for (const [encoded, text] of RFC_STRINGS) assert.equal(latin1(huffmanDecode(hex(encoded))), text);
});

Deno.test("huffmanEncodeInto() produces the RFC 7541 C.4 and C.6 string literals", () => {
  for (const [encoded, text] of RFC_STRINGS) {
    assert.deepEqual(encode(text), hex(encoded), text);
    const out = new Uint8Array(40).fill(0xaa);
    assert.equal(huffmanEncodeInto(text, out, 3), 3 + hex(encoded).length, "writes at the offset");
    assert.equal(out[2], 0xaa);
  }
});

Deno.test("huffmanEncodeInto() and huffmanDecode() round-trip every octet, alone and together", () => {
  let all = "";
  for (let octet = 0; octet < 256; octet++) {
    const text = String.fromCharCode(octet);
    all += text;
    assert.equal(latin1(huffmanDecode(encode(text))), text, `octet ${octet}`);
    assert.equal(latin1(huffmanDecode(encode(text.repeat(7)))), text.repeat(7), `octet ${octet} seven times`);
  }
  assert.equal(latin1(huffmanDecode(encode(all))), all);
  assert.equal(latin1(huffmanDecode(encode(""))), "");
  assert.equal(huffmanEncodedLength("~".repeat(8)), 13, "'~' has a 13-bit code");
});

Deno.test("huffmanDecode() rejects EOS and invalid padding (table-driven)", () => {
  const cases: Array<[string, string, RegExp]> = [
    // 30 ones are EOS; two more make the padding.
    ["EOS alone", "ffff ffff", /EOS/],
    // '0' (00000), EOS (30 ones), 5 bits of padding.
    ["EOS after a symbol", "07ff ffff ff", /EOS/],
    // "www.example.com" ends with 4 padding bits; 8 more ones make 12.
    ["padding longer than 7 bits", "f1e3 c2e5 f23a 6ba0 ab90 f4ff ff", /longer than 7 bits/],
    ["8 ones and nothing else", "ff", /longer than 7 bits/],
    // '0' (00000) then 000: padding must be the high bits of EOS, all ones.
    ["zero padding", "00", /not the most significant bits of EOS/],
    ["padding with a zero", "06", /not the most significant bits of EOS/],
  ];
  for (const [name, encoded, message] of cases) {
    assert.throws(() => huffmanDecode(hex(encoded)), (err: unknown) => {
      assert.ok(err instanceof HpackError, name);
      assert.match(err.message, message, name);
      return true;
    });
  }
});
