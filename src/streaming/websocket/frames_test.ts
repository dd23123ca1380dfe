import assert from "node:assert/strict";
import { decodeMessage, encodeCloseSignal, encodeFrame } from "./frames.ts";

const bytes = (...b: number[]) => Uint8Array.from(b);
const text = (s: string) => new TextEncoder().encode(s);

Deno.test("binary frames are the channel byte, then the bytes", () => {
  assert.deepEqual(encodeFrame("binary", 1, text("\n")), bytes(1, 10)); // wsstream's example: READ []byte{1, 10}
  assert.deepEqual(encodeFrame("binary", 3, new Uint8Array(0)), bytes(3)); // kubelet's empty "ready" message
  assert.deepEqual(decodeMessage("binary", bytes(0, 102, 111, 111, 10)), {
    kind: "data",
    channel: 0,
    payload: text("foo\n"),
  });
});

Deno.test("base64 frames are a channel digit and base64, as text", () => {
  // wsstream's example: READ []byte{49, 67, 103, 61, 61}, "\n" on channel '1'.
  assert.equal(encodeFrame("base64", 1, text("\n")), "1Cg==");
  assert.equal(encodeFrame("base64", 3, new Uint8Array(0)), "3");
  assert.deepEqual(decodeMessage("base64", text("0Zm9vCg==")), { kind: "data", channel: 0, payload: text("foo\n") });
  // Go's decoder skips line breaks.
  assert.deepEqual(decodeMessage("base64", text("0Zm9v\r\nCg==")), {
    kind: "data",
    channel: 0,
    payload: text("foo\n"),
  });
  assert.deepEqual(decodeMessage("base64", text("4")), { kind: "data", channel: 4, payload: new Uint8Array(0) });
});

Deno.test("the close signal is 255 and one channel byte", () => {
  assert.deepEqual(encodeCloseSignal(0), bytes(255, 0));
  assert.deepEqual(decodeMessage("binary", bytes(255, 0)), { kind: "close", channel: 0 });
  assert.deepEqual(decodeMessage("binary", bytes(255, 9)), { kind: "close", channel: 9 });
  const short = decodeMessage("binary", bytes(255));
  assert.equal(short.kind, "invalid");
  const long = decodeMessage("binary", bytes(255, 0, 1));
  assert.equal(long.kind, "invalid");
  assert.match((long as { reason: string }).reason, /exactly one channel byte, got 2/);
});

Deno.test("malformed base64 messages are named, empty ones skipped", () => {
  assert.deepEqual(decodeMessage("binary", new Uint8Array(0)), { kind: "empty" });
  assert.deepEqual(decodeMessage("base64", new Uint8Array(0)), { kind: "empty" });
  assert.match((decodeMessage("base64", text("0Zm9v!")) as { reason: string }).reason, /not valid base64/);
  assert.match((decodeMessage("base64", text("0Zm9vC")) as { reason: string }).reason, /not valid base64/);
  assert.match((decodeMessage("base64", text("/Zm9v")) as { reason: string }).reason, /channel digit, got byte 47/);
});

Deno.test("channels outside what a frame can name are refused when encoding", () => {
  assert.throws(() => encodeFrame("binary", 255, new Uint8Array(0)), RangeError);
  assert.throws(() => encodeFrame("base64", 80, new Uint8Array(0)), RangeError);
  assert.equal(encodeFrame("base64", 10, new Uint8Array(0)), ":"); // wsstream: string('0'+num)
});
