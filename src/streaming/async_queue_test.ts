import assert from "node:assert/strict";
import { AsyncQueue } from "./async_queue.ts";

const bytes = (n: number) => new Uint8Array(n);

Deno.test("items reach the reader in order, then the end", async () => {
  const q = new AsyncQueue<number>({ highWater: 10 });
  q.push(1);
  q.push(2);
  const seen: number[] = [];
  const reading = (async () => {
    for await (const n of q) seen.push(n);
  })();
  await Promise.resolve();
  q.push(3);
  q.end();
  assert.equal(q.push(4), false);
  await reading;
  assert.deepEqual(seen, [1, 2, 3]);
});

Deno.test("pressure above the high-water mark, released at half of it", async () => {
  const events: boolean[] = [];
  const q = new AsyncQueue<Uint8Array>({ weigh: (b) => b.length, highWater: 100, onPressure: (o) => events.push(o) });
  q.push(bytes(60));
  q.push(bytes(60));
  assert.deepEqual(events, [true]);
  assert.equal(q.weight, 120);
  const it = q[Symbol.asyncIterator]();
  await it.next(); // 60 left: above half
  assert.deepEqual(events, [true]);
  await it.next(); // 0 left
  assert.deepEqual(events, [true, false]);
});

Deno.test("discard forgets what is queued and releases pressure; leaving the loop discards", async () => {
  const events: boolean[] = [];
  const q = new AsyncQueue<Uint8Array>({ weigh: (b) => b.length, highWater: 10, onPressure: (o) => events.push(o) });
  q.push(bytes(20));
  q.discard();
  assert.deepEqual(events, [true, false]);
  assert.deepEqual(await q[Symbol.asyncIterator]().next(), { value: undefined, done: true });

  const r = new AsyncQueue<number>({ highWater: 10 });
  r.push(1);
  r.push(2);
  for await (const _ of r) break;
  assert.equal(r.ended, true);
  assert.equal(r.weight, 0);
});

Deno.test("dropOldest keeps the newest items within the bound", async () => {
  const q = new AsyncQueue<number>({ highWater: 2, dropOldest: true });
  for (const n of [1, 2, 3, 4]) q.push(n);
  q.end();
  assert.deepEqual(await Array.fromAsync(q), [3, 4]);
});

Deno.test("one reader only", () => {
  const q = new AsyncQueue<number>({ highWater: 1 });
  q[Symbol.asyncIterator]();
  assert.throws(() => q[Symbol.asyncIterator](), /one reader/);
});
