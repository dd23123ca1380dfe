import assert from "node:assert/strict";
import { inBatches, STREAM_BATCH } from "./batches.ts";

Deno.test("inBatches() yields every item exactly once, in order, in slices of STREAM_BATCH", () => {
  for (const n of [0, 1, STREAM_BATCH - 1, STREAM_BATCH, STREAM_BATCH + 1, 3 * STREAM_BATCH + 7]) {
    const items = Array.from({ length: n }, (_, i) => i);
    const batches = [...inBatches(items)];
    assert.deepEqual(batches.flat(), items, `n=${n}`);
    assert.ok(batches.every((b) => b.length > 0 && b.length <= STREAM_BATCH), `n=${n}`);
    assert.equal(batches.length, Math.ceil(n / STREAM_BATCH));
  }
});
