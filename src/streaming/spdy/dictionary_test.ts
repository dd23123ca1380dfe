import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { SPDY_DICTIONARY } from "./dictionary.ts";
import { bytesOf, CLIENT_FRAMES } from "./go_vectors_test_data.ts";

// Adler-32 (RFC 1950 §8.2), the dictionary ID a zlib stream names in its header.
function adler32(bytes: Uint8Array): number {
  let a = 1;
  let b = 0;
  for (const byte of bytes) {
    a = (a + byte) % 65521;
    b = (b + a) % 65521;
  }
  return ((b << 16) | a) >>> 0;
}

Deno.test("SPDY_DICTIONARY is spdystream's 1,423 octets", async () => {
  assert.equal(SPDY_DICTIONARY.length, 1423);
  // SHA-256 of the byte array in moby/spdystream spdy/dictionary.go.
  const digest = Buffer.from(await crypto.subtle.digest("SHA-256", Uint8Array.from(SPDY_DICTIONARY))).toString("hex");
  assert.equal(digest, "51d27341373f923f3cd88e1eb7162aeaa3723d7585ff2399201dc06498407f02");
});

Deno.test("SPDY_DICTIONARY's Adler-32 is the dictionary ID Go's zlib writes after the 78 F9 header", () => {
  // The first header block of a connection: CMF 0x78, FLG 0xF9 (level 9, FDICT), then the dictionary ID.
  const block = bytesOf(CLIENT_FRAMES.synStreamError).subarray(18);
  assert.deepEqual([...block.subarray(0, 2)], [0x78, 0xf9]);
  assert.equal(Buffer.from(block).readUInt32BE(2), adler32(SPDY_DICTIONARY));
  assert.equal(adler32(SPDY_DICTIONARY), 0xe3c6a7c2);
});

Deno.test("SPDY_DICTIONARY starts with length-prefixed names and ends with the draft's raw text", () => {
  const text = Buffer.from(SPDY_DICTIONARY).toString("latin1");
  assert.ok(text.startsWith("\0\0\0\x07options\0\0\0\x04head"));
  assert.ok(text.includes("\0\0\0\x06origin100101201"));
  assert.ok(text.endsWith("charset=iso-8859-1,utf-,*,enq=0."));
});
