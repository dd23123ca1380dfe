import assert from "node:assert/strict";
import { TerminalSizeDecoder } from "./terminal_size.ts";

const text = (s: string) => new TextEncoder().encode(s);

Deno.test("sizes written by json.Encoder, one per message", () => {
  const d = new TerminalSizeDecoder();
  assert.deepEqual(d.push(text('{"Width":80,"Height":24}\n')), [{ width: 80, height: 24 }]);
  assert.deepEqual(d.push(text('{"Width":100,"Height":40}\n')), [{ width: 100, height: 40 }]);
});

Deno.test("a size split across messages, and several in one, as Go's stream decoder reads them", () => {
  const d = new TerminalSizeDecoder();
  assert.deepEqual(d.push(text('{"Width":1')), []);
  assert.deepEqual(d.push(text('20,"Height":50}{"width":7,"HEIGHT":8} {"Height":3')), [
    { width: 120, height: 50 },
    { width: 7, height: 8 },
  ]);
  assert.deepEqual(d.push(text("}")), [{ width: 0, height: 3 }]);
});

Deno.test("keys are case-insensitive, unknown keys ignored, null leaves zero; UTF-8 may split", () => {
  const d = new TerminalSizeDecoder();
  assert.deepEqual(d.push(text('{"wIdTh":5,"x":{"y":[1,"}"]},"Height":null,"n":"é"}')), [{ width: 5, height: 0 }]);
  const e = text('{"n":"é","Width":1}');
  assert.deepEqual(d.push(e.subarray(0, 7)), []);
  assert.deepEqual(d.push(e.subarray(7)), [{ width: 1, height: 0 }]);
});

Deno.test("values that do not fit uint16, non-objects and endless text are errors", () => {
  assert.throws(() => new TerminalSizeDecoder().push(text('{"Width":-1}')), /from 0 to 65535, got -1/);
  assert.throws(() => new TerminalSizeDecoder().push(text('{"Width":65536}')), /got 65536/);
  assert.throws(() => new TerminalSizeDecoder().push(text('{"Width":1.5}')), /got 1.5/);
  assert.throws(() => new TerminalSizeDecoder().push(text('{"Width":"80"}')), /got "80"/);
  assert.throws(() => new TerminalSizeDecoder().push(text("[80,24]")), /must be a JSON object/);
  assert.throws(() => new TerminalSizeDecoder().push(text('{"Width":}')), /not valid JSON/);
  assert.throws(() => new TerminalSizeDecoder().push(text(`{"x":"${"a".repeat(5000)}`)), /longer than 4096/);
});
