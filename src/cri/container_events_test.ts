import assert from "node:assert/strict";
import { CriError } from "../errors.ts";
import { createLogger } from "../observability/log.ts";
import { ContainerEventHub } from "./container_events.ts";

function hubWith(maxQueued?: number) {
  const logs: string[] = [];
  const log = createLogger({ level: "debug", format: "text", write: (line) => logs.push(line) });
  return { hub: new ContainerEventHub<number>({ log, ...(maxQueued ? { maxQueued } : {}) }), logs };
}

/** Reads `n` items from a stream's iterator. */
async function take(it: AsyncIterator<number>, n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const r = await it.next();
    if (r.done) break;
    out.push(r.value);
  }
  return out;
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

Deno.test("ContainerEventHub: two subscribers each get every event, in order", async () => {
  const { hub } = hubWith();
  const a = hub.subscribe(new AbortController().signal)[Symbol.asyncIterator]();
  const b = hub.subscribe(new AbortController().signal)[Symbol.asyncIterator]();
  assert.equal(hub.subscribers, 2, "subscribed at the call, before the first read");
  for (let i = 1; i <= 5; i++) hub.publish(i);
  assert.deepEqual(await take(a, 5), [1, 2, 3, 4, 5]);
  assert.deepEqual(await take(b, 5), [1, 2, 3, 4, 5]);
  // A reader waiting for the next event gets it when it is published.
  const next = a.next();
  hub.publish(6);
  assert.deepEqual(await next, { done: false, value: 6 });
});

Deno.test("ContainerEventHub: a subscriber that falls behind its bound is dropped; the other continues", async () => {
  const { hub, logs } = hubWith(3);
  const fast = hub.subscribe(new AbortController().signal)[Symbol.asyncIterator]();
  const slow = hub.subscribe(new AbortController().signal)[Symbol.asyncIterator]();
  for (let i = 1; i <= 3; i++) {
    hub.publish(i);
    assert.deepEqual(await take(fast, 1), [i]);
  }
  assert.equal(hub.subscribers, 2, "the slow one has 3 waiting: at its bound, not over it");
  hub.publish(4);
  assert.equal(hub.subscribers, 1, "dropped at the 4th event");
  await assert.rejects(slow.next(), (err: CriError) => {
    assert.equal(err.code, "ResourceExhausted");
    assert.match(err.message, /fell 3 events behind/);
    return true;
  });
  assert.ok(logs.some((l) => /dropped a subscriber that fell behind/.test(l)), logs.join("\n"));
  hub.publish(5);
  assert.deepEqual(await take(fast, 2), [4, 5]);
});

Deno.test("ContainerEventHub: a cancel unsubscribes at once and ends the stream quietly", async () => {
  const { hub } = hubWith();
  const cancel = new AbortController();
  const it = hub.subscribe(cancel.signal)[Symbol.asyncIterator]();
  const waiting = it.next();
  await tick();
  cancel.abort(new CriError("Canceled", "canceled by the client"));
  assert.equal(hub.subscribers, 0, "gone before its reader even woke");
  assert.deepEqual(await waiting, { done: true, value: undefined });
  hub.publish(1); // reaches nobody, keeps nothing
  assert.equal(hub.subscribers, 0);
});

Deno.test("ContainerEventHub: a deadline ends the stream with DEADLINE_EXCEEDED", async () => {
  const { hub } = hubWith();
  const ctl = new AbortController();
  const it = hub.subscribe(ctl.signal)[Symbol.asyncIterator]();
  const waiting = it.next();
  ctl.abort(new CriError("DeadlineExceeded", "GetContainerEvents exceeded its deadline"));
  await assert.rejects(waiting, (err: CriError) => err.code === "DeadlineExceeded");
  assert.equal(hub.subscribers, 0);
});

Deno.test("ContainerEventHub: a stream stays open while nothing happens, and a reader that stops unsubscribes", async () => {
  const { hub } = hubWith();
  const it = hub.subscribe(new AbortController().signal)[Symbol.asyncIterator]();
  let settled = false;
  const next = it.next().then((r) => (settled = true, r));
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.equal(settled, false);
  hub.publish(7);
  assert.deepEqual(await next, { done: false, value: 7 });
  await it.return!(undefined); // the consumer breaks out of its loop
  assert.equal(hub.subscribers, 0);
});

Deno.test("ContainerEventHub: close() ends every stream after what it queued with UNAVAILABLE, and later ones too", async () => {
  const { hub } = hubWith();
  const it = hub.subscribe(new AbortController().signal)[Symbol.asyncIterator]();
  const idle = hub.subscribe(new AbortController().signal)[Symbol.asyncIterator]();
  const idleNext = idle.next();
  hub.publish(1);
  hub.close();
  assert.equal(hub.subscribers, 0);
  assert.deepEqual(await idleNext, { done: false, value: 1 });
  assert.deepEqual(await it.next(), { done: false, value: 1 });
  await assert.rejects(it.next(), (err: CriError) => err.code === "Unavailable" && /shutting down/.test(err.message));
  await assert.rejects(idle.next(), (err: CriError) => err.code === "Unavailable");
  const late = hub.subscribe(new AbortController().signal)[Symbol.asyncIterator]();
  assert.equal(hub.subscribers, 0);
  await assert.rejects(late.next(), (err: CriError) => err.code === "Unavailable");
});
