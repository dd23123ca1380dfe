import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { type HeaderField, HpackDecoder, HpackEncoder, HpackError } from "./hpack_codec.ts";
import { TestDecoder, TestEncoder } from "./_h2_testing.ts";

const hex = (s: string) => Buffer.from(s.replaceAll(" ", ""), "hex");
const f = (name: string, value: string): HeaderField => ({ name, value, neverIndex: false });

// RFC 7541 Appendix C.4: three requests with Huffman coding, sharing one dynamic table.
const rfcC4: Array<[Buffer, HeaderField[]]> = [
  [
    hex("8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff"),
    [f(":method", "GET"), f(":scheme", "http"), f(":path", "/"), f(":authority", "www.example.com")],
  ],
  [
    hex("8286 84be 5886 a8eb 1064 9cbf"),
    [
      f(":method", "GET"),
      f(":scheme", "http"),
      f(":path", "/"),
      f(":authority", "www.example.com"),
      f("cache-control", "no-cache"),
    ],
  ],
  [
    hex("8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf"),
    [
      f(":method", "GET"),
      f(":scheme", "https"),
      f(":path", "/index.html"),
      f(":authority", "www.example.com"),
      f("custom-key", "custom-value"),
    ],
  ],
];

Deno.test("HpackDecoder decodes the RFC 7541 C.4 requests with one dynamic table", () => {
  const decoder = new HpackDecoder();
  for (const [bytes, fields] of rfcC4) assert.deepEqual(decoder.decode(bytes), fields);
});

Deno.test("HpackEncoder produces the RFC 7541 C.4 octets", () => {
  const encoder = new HpackEncoder();
  for (const [bytes, fields] of rfcC4) assert.deepEqual(Buffer.from(encoder.encode(fields)), bytes);
});

Deno.test("HpackEncoder output decodes with an independent decoder over many blocks and evictions", () => {
  const encoder = new HpackEncoder();
  const decoder = new TestDecoder();
  for (let i = 0; i < 300; i++) {
    const fields = [
      f(":method", "POST"),
      f(":path", `/svc/M${i % 11}`),
      f("x-id", `id-${i}-${"z".repeat(i % 97)}`),
      f("bin-bytes", String.fromCharCode(0, 255, i % 256)),
      { name: "secret", value: `s${i}`, neverIndex: true },
    ];
    const decoded = decoder.decode(encoder.encode(fields));
    assert.deepEqual(decoded, fields, `block ${i}`);
  }
});

Deno.test("HpackDecoder follows an independent encoder and dynamic table size updates", () => {
  const encoder = new TestEncoder();
  const decoder = new HpackDecoder();
  for (let i = 0; i < 100; i++) {
    const fields = [f(":authority", "/run/x.sock"), f("x-n", String(i).repeat(i % 40))];
    assert.deepEqual(decoder.decode(encoder.encode(fields)), fields);
  }
  // 0x20 = size update to 0 (evicts all), then 0x3f 0xe1 0x1f = size update to 4096, then indexed static :method GET.
  assert.deepEqual(decoder.decode(hex("20 3fe11f 82")), [f(":method", "GET")]);
  assert.throws(() => decoder.decode(hex("be")), HpackError, "the dynamic table must be empty now");
});

Deno.test("HpackDecoder rejects malformed blocks", () => {
  const cases: Array<[string, Buffer]> = [
    ["index 0", hex("80")],
    ["index past the tables", hex("ff 00")],
    ["truncated string", hex("40 05 61")],
    ["table size above the limit", hex("3f e2 1f")],
  ];
  for (const [name, bytes] of cases) assert.throws(() => new HpackDecoder().decode(bytes), HpackError, name);
});
