import assert from "node:assert/strict";
import { encodedOnce, encodeOnce } from "./encode_once.ts";

Deno.test("encodedOnce() keeps the bytes of a marked response only, and encodes anything else every time", () => {
  let encodings = 0;
  const encode = (v: { n: number }) => {
    encodings++;
    return new Uint8Array([v.n]);
  };
  const marked = encodeOnce({ n: 1 });
  assert.deepEqual(encodedOnce(marked, encode), new Uint8Array([1]));
  assert.equal(encodedOnce(marked, encode), encodedOnce(marked, encode), "the same bytes, not encoded again");
  assert.equal(encodings, 1);
  const plain = { n: 2 };
  encodedOnce(plain, encode);
  encodedOnce(plain, encode);
  assert.equal(encodings, 3, "an unmarked response is encoded per call");
  assert.equal(encodeOnce(marked), marked);
});
