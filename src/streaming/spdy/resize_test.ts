import assert from "node:assert/strict";
import { ResizeParser } from "./resize.ts";

const bytes = (s: string) => new TextEncoder().encode(s);

Deno.test("ResizeParser reads json.Encoder's objects, one after another, however the bytes are cut", () => {
  const input = bytes(
    '{"Width":80,"Height":24}\n{"Width":120,"Height":40}\n{"width":1,"HEIGHT":2,"Other":[{"x":"}"}]}\n',
  );
  const expected = [{ width: 80, height: 24 }, { width: 120, height: 40 }, { width: 1, height: 2 }];
  assert.deepEqual(new ResizeParser().push(input), expected);
  const parser = new ResizeParser();
  const sizes = [];
  for (let i = 0; i < input.length; i++) sizes.push(...parser.push(input.subarray(i, i + 1)));
  assert.deepEqual(sizes, expected);
  assert.equal(parser.failed, false);
});

Deno.test("ResizeParser stops at the first object that is not a terminal size, as kubelet's decoder loop", () => {
  const cases = ['{"Width":-1,"Height":2}', '{"Width":70000}', '{"Width":"80"}', "[1,2]", "80", '{"Width":1,}'];
  for (const bad of cases) {
    const parser = new ResizeParser();
    assert.deepEqual(parser.push(bytes(`{"Width":1,"Height":1}${bad}{"Width":2,"Height":2}`)), [{
      width: 1,
      height: 1,
    }], bad);
    assert.equal(parser.failed, true, bad);
    assert.deepEqual(parser.push(bytes('{"Width":3,"Height":3}')), []);
  }
  const huge = new ResizeParser();
  assert.deepEqual(huge.push(bytes(`{"Width":1,"pad":"${"x".repeat(5000)}`)), []);
  assert.equal(huge.failed, true);
});
