import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { hf, seededRandom } from "../../tests/harness/h2.ts";
import { type HeaderField, HpackDecoder, HpackEncoder, HpackError } from "./hpack_codec.ts";
import { entrySize } from "./hpack_table.ts";

const hex = (s: string) => new Uint8Array(Buffer.from(s.replaceAll(" ", ""), "hex"));
const never = (name: string, value: string): HeaderField => ({ name, value, neverIndex: true });

// The dynamic table as a decoder sees it, newest first, read with indexed representations (RFC 7541 §6.1), which
// leave the table as it is; and its size by RFC 7541 §4.1.
function dynamicTable(decoder: HpackDecoder): { entries: string[]; size: number } {
  const entries: string[] = [];
  let size = 0;
  for (let index = 62; index < 127; index++) {
    let fields: HeaderField[];
    try {
      fields = decoder.decode(Uint8Array.of(0x80 | index));
    } catch (err) {
      assert.ok(err instanceof HpackError);
      break;
    }
    const [{ name, value }] = fields as [HeaderField];
    entries.push(`${name}: ${value}`);
    size += entrySize(name, value);
  }
  return { entries, size };
}

interface Step {
  octets: string;
  fields: HeaderField[];
  table: string[];
  tableSize: number;
}

const AUTHORITY = ":authority: www.example.com";
const requestFields = (third: boolean) => [
  hf(":method", "GET"),
  hf(":scheme", third ? "https" : "http"),
  hf(":path", third ? "/index.html" : "/"),
  hf(":authority", "www.example.com"),
];

// RFC 7541 C.3 (raw strings) and C.4 (Huffman): three requests sharing one dynamic table of 4096 octets.
const requestSteps = (c3: boolean): Step[] => [
  {
    octets: c3 ? "8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d" : "8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff",
    fields: requestFields(false),
    table: [AUTHORITY],
    tableSize: 57,
  },
  {
    octets: c3 ? "8286 84be 5808 6e6f 2d63 6163 6865" : "8286 84be 5886 a8eb 1064 9cbf",
    fields: [...requestFields(false), hf("cache-control", "no-cache")],
    table: ["cache-control: no-cache", AUTHORITY],
    tableSize: 110,
  },
  {
    octets: c3
      ? "8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65"
      : "8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf",
    fields: [...requestFields(true), hf("custom-key", "custom-value")],
    table: ["custom-key: custom-value", "cache-control: no-cache", AUTHORITY],
    tableSize: 164,
  },
];

const DATE_21 = "Mon, 21 Oct 2013 20:13:21 GMT";
const DATE_22 = "Mon, 21 Oct 2013 20:13:22 GMT";
const LOCATION = "https://www.example.com";
const COOKIE = "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1";
const responseFields = (status: string, date: string) => [
  hf(":status", status),
  hf("cache-control", "private"),
  hf("date", date),
  hf("location", LOCATION),
];

// RFC 7541 C.5 (raw strings) and C.6 (Huffman): three responses, SETTINGS_HEADER_TABLE_SIZE 256, with evictions.
const responseSteps = (c5: boolean): Step[] => [
  {
    octets: c5
      ? "4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3120 " +
        "474d 546e 1768 7474 7073 3a2f 2f77 7777 2e65 7861 6d70 6c65 2e63 6f6d"
      : "4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6 2d1b ff6e 919d 29ad 1718 " +
        "63c7 8f0b 97c8 e9ae 82ae 43d3",
    fields: responseFields("302", DATE_21),
    table: [`location: ${LOCATION}`, `date: ${DATE_21}`, "cache-control: private", ":status: 302"],
    tableSize: 222,
  },
  {
    octets: c5 ? "4803 3330 37c1 c0bf" : "4883 640e ffc1 c0bf",
    fields: responseFields("307", DATE_21),
    table: [":status: 307", `location: ${LOCATION}`, `date: ${DATE_21}`, "cache-control: private"],
    tableSize: 222,
  },
  {
    octets: c5
      ? "88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3220 474d 54c0 5a04 677a 6970 7738 " +
        "666f 6f3d 4153 444a 4b48 514b 425a 584f 5157 454f 5049 5541 5851 5745 4f49 553b 206d 6178 2d61 6765 3d33 " +
        "3630 303b 2076 6572 7369 6f6e 3d31"
      : "88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab 77ad 94e7 821d d7f2 e6c7 " +
        "b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f 9587 3160 65c0 03ed 4ee5 b106 3d50 07",
    fields: [...responseFields("200", DATE_22), hf("content-encoding", "gzip"), hf("set-cookie", COOKIE)],
    table: [`set-cookie: ${COOKIE}`, "content-encoding: gzip", `date: ${DATE_22}`],
    tableSize: 215,
  },
];

function decodeSteps(steps: Step[], decoder: HpackDecoder): void {
  steps.forEach((step, i) => {
    assert.deepEqual(decoder.decode(hex(step.octets)), step.fields, `block ${i + 1}`);
    assert.deepEqual(
      dynamicTable(decoder),
      { entries: step.table, size: step.tableSize },
      `table after block ${i + 1}`,
    );
  });
}

Deno.test("HpackDecoder.decode() decodes the RFC 7541 C.2 field representations", () => {
  const cases: Array<[string, string, HeaderField, string[]]> = [
    [
      "C.2.1 literal with indexing",
      "400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572",
      hf("custom-key", "custom-header"),
      ["custom-key: custom-header"],
    ],
    ["C.2.2 literal without indexing", "040c 2f73 616d 706c 652f 7061 7468", hf(":path", "/sample/path"), []],
    [
      "C.2.3 literal never indexed",
      "1008 7061 7373 776f 7264 0673 6563 7265 74",
      never("password", "secret"),
      [],
    ],
    ["C.2.4 indexed field", "82", hf(":method", "GET"), []],
  ];
  for (const [name, octets, expected, table] of cases) {
    const decoder = new HpackDecoder();
    assert.deepEqual(decoder.decode(hex(octets)), [expected], name);
    assert.deepEqual(dynamicTable(decoder).entries, table, name);
  }
});

Deno.test("HpackDecoder.decode() decodes the RFC 7541 C.3 requests with one dynamic table", () => {
  decodeSteps(requestSteps(true), new HpackDecoder());
});

Deno.test("HpackDecoder.decode() decodes the RFC 7541 C.4 requests, Huffman-coded, with one dynamic table", () => {
  decodeSteps(requestSteps(false), new HpackDecoder());
});

Deno.test("HpackDecoder.decode() evicts the oldest entries when the table is full (RFC 7541 C.5)", () => {
  decodeSteps(responseSteps(true), new HpackDecoder(256));
});

Deno.test("HpackDecoder.decode() decodes the RFC 7541 C.6 responses, Huffman-coded, with evictions", () => {
  decodeSteps(responseSteps(false), new HpackDecoder(256));
});

Deno.test("HpackEncoder.encode() produces the RFC 7541 C.2.4 and C.4 octets", () => {
  assert.deepEqual(new HpackEncoder().encode([hf(":method", "GET")]), hex("82"));
  const encoder = new HpackEncoder();
  for (const step of requestSteps(false)) assert.deepEqual(encoder.encode(step.fields), hex(step.octets));
});

Deno.test("HpackEncoder.encode() produces the RFC 7541 C.6 octets with evictions at 256 octets", () => {
  const encoder = new HpackEncoder(256);
  const [first, second, third] = responseSteps(false) as [Step, Step, Step];
  assert.deepEqual(encoder.encode(first.fields), hex(first.octets));
  // "307" takes 3 octets either way; C.6.2 Huffman-codes it, we send it raw: the octets are then those of C.5.2.
  assert.deepEqual(encoder.encode(second.fields), hex(responseSteps(true)[1]!.octets));
  assert.deepEqual(encoder.encode(third.fields), hex(third.octets), "the tables evicted alike");
});

Deno.test("HpackEncoder.encode() keeps never-indexed fields never indexed and out of the table", () => {
  const encoder = new HpackEncoder();
  const decoder = new HpackDecoder();
  const secret = never("password", "secret");
  const first = encoder.encode([secret, never("authorization", "Bearer x")]);
  assert.equal(first[0], 0x10, "0001 0000: never indexed, literal name (§6.2.3)");
  assert.deepEqual(decoder.decode(first), [secret, never("authorization", "Bearer x")]);
  assert.ok(first.includes(0x1f), "authorization: never indexed, static name index 23 (0x1f 0x08)");
  const again = encoder.encode([secret, hf("password", "secret")]);
  assert.equal(again[0], 0x10, "still a literal: the first was not indexed");
  assert.deepEqual(decoder.decode(again), [secret, hf("password", "secret")]);
  assert.deepEqual(encoder.encode([hf("password", "secret")]), hex("be"), "the second one was indexed");
  assert.deepEqual(dynamicTable(decoder).entries, ["password: secret"]);
});

Deno.test("HpackEncoder.encode() sends a field too large for its table without indexing and keeps the table", () => {
  const encoder = new HpackEncoder(256);
  const decoder = new HpackDecoder(256);
  const small = hf("x-small", "1");
  const big = hf("x-big", "v".repeat(300));
  assert.deepEqual(decoder.decode(encoder.encode([small])), [small]);
  const block = encoder.encode([big, small]);
  assert.equal(block[0], 0x00, "0000 0000: literal without indexing, literal name (§6.2.2)");
  assert.equal(block.at(-1), 0xbe, "x-small is still indexed at 62");
  assert.deepEqual(decoder.decode(block), [big, small]);
  assert.deepEqual(dynamicTable(decoder).entries, ["x-small: 1"]);
});

Deno.test("HpackEncoder.encode() refuses characters above U+00FF without touching its table", () => {
  const encoder = new HpackEncoder();
  assert.throws(() => encoder.encode([hf("x-a", "1"), hf("x-b", "\u20ac")]), HpackError);
  assert.throws(() => encoder.encode([hf("x-\u0100", "1")]), HpackError);
  assert.equal(encoder.encode([hf("x-a", "1")])[0], 0x40, "x-a was not indexed by the refused block");
  const bytes = String.fromCharCode(...Array.from({ length: 256 }, (_, i) => i));
  assert.deepEqual(new HpackDecoder().decode(new HpackEncoder().encode([hf("x-bytes", bytes)])), [
    hf("x-bytes", bytes),
  ]);
});

Deno.test("HpackDecoder.decode() applies dynamic table size updates at the start of a block", () => {
  const decoder = new HpackDecoder();
  decodeSteps(requestSteps(true), decoder);
  // 3f 4f = update to 110: the oldest entry (57 octets of 164) goes.
  assert.deepEqual(decoder.decode(hex("3f4f 82")), [hf(":method", "GET")]);
  assert.deepEqual(dynamicTable(decoder), {
    entries: ["custom-key: custom-value", "cache-control: no-cache"],
    size: 107,
  });
  // 20 = update to 0 (evicts all), then 3f e1 1f = update to 4096: two updates may start a block (§4.2).
  assert.deepEqual(decoder.decode(hex("20 3fe11f 82")), [hf(":method", "GET")]);
  assert.deepEqual(dynamicTable(decoder).entries, []);
  assert.deepEqual(decoder.decode(hex("4003 612d 6201 31")), [hf("a-b", "1")], "entries are added again");
  assert.deepEqual(decoder.decode(hex("3f e11f")), [], "a block may be a size update alone");
  assert.deepEqual(decoder.decode(hex("3f 80 80 80 80 00")), [], "31 in 5 continuation octets is still an integer");
  const limited = new HpackDecoder(256);
  assert.deepEqual(limited.decode(hex("3fe101")), [], "256 is the limit itself");
  assert.throws(() => limited.decode(hex("3fe201")), HpackError, "257 is above the limit");
});

Deno.test("HpackDecoder.decode() rejects malformed blocks with HpackError (table-driven)", () => {
  const notInTable = /is not in the static or dynamic table/;
  const truncated = /ends inside a field representation/;
  const cases: Array<[string, string, RegExp]> = [
    ["index 0", "80", notInTable],
    ["index past the static table, dynamic table empty", "be", notInTable],
    ["index past both tables", "ff 00", notInTable],
    ["name index past both tables", "7f 00 01 61", notInTable],
    ["never-indexed literal name missing", "10", truncated],
    ["literal with an indexed name and no value", "41", truncated],
    ["truncated string", "40 05 61", /runs past the header block/],
    ["string length past the block", "41 7f ff ff ff 07", /runs past the header block/],
    ["integer prefix full and no continuation", "ff", truncated],
    ["integer that stops inside its continuation", "ff 80", truncated],
    ["integer above 2^31 - 1", "ff ff ff ff ff 0f", /Integer above 2147483647/],
    ["integer with 6 continuation octets", "3f 80 80 80 80 80 00", /more than 5 continuation octets/], // 31
    ["table size above the limit", "3f e2 1f", /update to 4097 exceeds the limit of 4096/],
    ["table size update after a field", "82 20", /size update after a header field/],
    ["Huffman string with EOS", "41 84 ff ff ff ff", /contains EOS/],
    ["Huffman padding of 8 bits", "41 81 ff", /longer than 7 bits/],
    ["Huffman padding with zeros", "41 81 00", /not the most significant bits of EOS/],
  ];
  for (const [name, octets, message] of cases) {
    assert.throws(() => new HpackDecoder().decode(hex(octets)), (err: unknown) => {
      assert.ok(err instanceof HpackError, name);
      assert.match(err.message, message, name);
      return true;
    });
  }
});

Deno.test("HpackDecoder.decode() throws only HpackError on random octets, and returns", () => {
  const random = seededRandom(7541);
  let rejected = 0;
  for (let i = 0; i < 3000; i++) {
    const decoder = new HpackDecoder(random() < 0.5 ? 4096 : 64);
    // A valid prefix makes later garbage meet a non-empty dynamic table.
    const prefix = hex(requestSteps(false)[i % 3]!.octets);
    const garbage = Uint8Array.from({ length: 1 + Math.floor(random() * 40) }, () => Math.floor(random() * 256));
    for (const block of [prefix, garbage]) {
      try {
        decoder.decode(block);
      } catch (err) {
        assert.ok(err instanceof HpackError, `case ${i}: ${err}`);
        rejected++;
        break;
      }
    }
  }
  assert.ok(rejected > 1000, `only ${rejected} of 3000 random blocks rejected`);
});

Deno.test("HpackEncoder and HpackDecoder round-trip random header lists over many blocks (seeded)", async (t) => {
  const random = seededRandom(20151206);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const text = (max: number) =>
    String.fromCharCode(
      ...Array.from(
        { length: Math.floor(random() * max) },
        () => random() < 0.8 ? 0x20 + Math.floor(random() * 95) : Math.floor(random() * 256),
      ),
    );
  for (const size of [0, 1, 64, 256, 4096, 65536]) {
    await t.step(`table of ${size} octets`, () => {
      const encoder = new HpackEncoder(size);
      const decoder = new HpackDecoder(random() < 0.5 ? size : Math.max(size, 4096)); // a larger limit is fine too
      // A pool of names and values, so that fields repeat, hit the tables and get evicted.
      const names = [":path", ":authority", "content-type", "date", ...Array.from({ length: 30 }, () => text(12))];
      const values = [
        "",
        "/",
        "application/grpc",
        ...Array.from({ length: 60 }, () => text(random() < 0.1 ? 600 : 40)),
      ];
      for (let block = 0; block < 400; block++) {
        const fields = Array.from({ length: Math.floor(random() * 12) }, () => ({
          name: pick(names),
          value: random() < 0.2 ? text(30) : pick(values),
          neverIndex: random() < 0.1,
        }));
        assert.deepEqual(decoder.decode(encoder.encode(fields)), fields, `block ${block}`);
      }
    });
  }
});
