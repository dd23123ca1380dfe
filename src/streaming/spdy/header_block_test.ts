import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { SpdyProtocolError } from "./errors.ts";
import { decodeHeaderBlock, encodeHeaderBlock, headerValue, spdyHeaders } from "./header_block.ts";

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex");

Deno.test("encodeHeaderBlock() writes count, then length-prefixed names and NUL-joined values, as spdystream", () => {
  const block = encodeHeaderBlock(spdyHeaders([["Streamtype", "error"], ["port", "8080"], ["port", "9090"]]));
  assert.equal(
    hex(block),
    "00000002" + "0000000a" + hex(Buffer.from("streamtype")) + "00000005" + hex(Buffer.from("error")) +
      "00000004" + hex(Buffer.from("port")) + "00000009" + hex(Buffer.from("8080\x009090")),
  );
  assert.equal(hex(encodeHeaderBlock(new Map())), "00000000");
});

Deno.test("decodeHeaderBlock() reverses encodeHeaderBlock(), splitting values on NUL", () => {
  const headers = spdyHeaders([["streamtype", "data"], ["port", "80"], ["requestid", "0"], ["x", ""], ["x", "ü"]]);
  const decoded = decodeHeaderBlock(encodeHeaderBlock(headers));
  assert.deepEqual(decoded, headers);
  assert.equal(headerValue(decoded, "RequestID"), "0");
  assert.equal(headerValue(decoded, "missing"), undefined);
  assert.deepEqual(decoded.get("x"), ["", "ü"]);
});

Deno.test("decodeHeaderBlock() lower-cases names and gathers repeated ones, as spdystream's http.Header.Add", () => {
  const block = Buffer.from(
    "00000002" + "00000004" + hex(Buffer.from("Port")) + "00000002" + hex(Buffer.from("80")) +
      "00000004" + hex(Buffer.from("port")) + "00000002" + hex(Buffer.from("81")),
    "hex",
  );
  assert.deepEqual(decodeHeaderBlock(block), new Map([["port", ["80", "81"]]]));
});

Deno.test("decodeHeaderBlock() refuses truncated, padded, lying and nameless blocks", () => {
  const good = encodeHeaderBlock(spdyHeaders([["streamtype", "stdin"]]));
  const cases: Array<[string, Uint8Array]> = [
    ["empty", new Uint8Array(0)],
    ["count only, truncated", good.subarray(0, 3)],
    ["cut in a name length", good.subarray(0, 6)],
    ["cut in a value", good.subarray(0, good.length - 1)],
    ["an octet too many", Buffer.concat([good, Uint8Array.of(0)])],
    ["a count of 2^32-1", Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0)],
    ["an empty name", Uint8Array.of(0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0)],
    ["a name longer than the block", Uint8Array.of(0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0)],
  ];
  for (const [what, block] of cases) {
    assert.throws(
      () => decodeHeaderBlock(block),
      (err: unknown) => err instanceof SpdyProtocolError && err.reason === "bad-header-block",
      what,
    );
  }
});
