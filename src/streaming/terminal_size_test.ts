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

Deno.test("a malformed value stops the stream, saying why; the sizes before it still count", () => {
  const cases: [string, RegExp][] = [
    ['{"Width":-1}', /from 0 to 65535, got -1/],
    ['{"Width":65536}', /got 65536/],
    ['{"Width":1.5}', /got 1.5/],
    ['{"Width":"80"}', /got "80"/],
    ["[80,24]", /must be a JSON object/],
    ["80", /must be a JSON object/],
    ['{"Width":}', /not valid JSON/],
    ['{"Width":1,}', /not valid JSON/],
    [`{"x":"${"a".repeat(5000)}`, /longer than 4096/],
  ];
  for (const [bad, why] of cases) {
    const d = new TerminalSizeDecoder();
    assert.deepEqual(
      d.push(text(`{"Width":1,"Height":1}${bad}{"Width":2,"Height":2}`)),
      [{ width: 1, height: 1 }],
      bad,
    );
    assert.match(d.failure ?? "", why, bad);
    assert.deepEqual(d.push(text('{"Width":3,"Height":3}')), [], "nothing is decoded after the failure");
  }
  const fine = new TerminalSizeDecoder();
  fine.push(text('{"Width":1,"Height":1}'));
  assert.equal(fine.failure, undefined);
});

Deno.test("json.Encoder's objects are read however the bytes are cut", () => {
  const input = text(
    '{"Width":80,"Height":24}\n{"Width":120,"Height":40}\n{"width":1,"HEIGHT":2,"Other":[{"x":"}"}]}\n',
  );
  const d = new TerminalSizeDecoder();
  const sizes = [];
  for (let i = 0; i < input.length; i++) sizes.push(...d.push(input.subarray(i, i + 1)));
  assert.deepEqual(sizes, [{ width: 80, height: 24 }, { width: 120, height: 40 }, { width: 1, height: 2 }]);
});
