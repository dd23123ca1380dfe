import assert from "node:assert/strict";
import { CallTracker } from "./call_tracker.ts";
import type { CriError } from "../errors.ts";

function call(tracker: CallTracker, rpc: string) {
  const done = Promise.withResolvers<void>();
  const aborted: CriError[] = [];
  tracker.track({ rpc, started: performance.now(), abort: (reason) => aborted.push(reason), settled: done.promise });
  return { finish: () => done.resolve(), aborted };
}

Deno.test("CallTracker.cut() cancels what is safe to cancel and lets lifecycle changes finish", async () => {
  const tracker = new CallTracker();
  const stop = call(tracker, "StopContainer");
  const pull = call(tracker, "PullImage");
  assert.equal(tracker.shuttingDown, false);
  const cut = tracker.cut(new Set(["StopContainer"]));
  assert.equal(tracker.shuttingDown, true);
  assert.deepEqual(cut.map((c) => c.rpc), ["PullImage"]);
  assert.equal(pull.aborted[0]?.code, "Unavailable");
  assert.match(pull.aborted[0]?.message ?? "", /PullImage was cut short: cri-podman is shutting down/);
  assert.deepEqual(stop.aborted, []);
  pull.finish();
  assert.equal(await tracker.settled(20), false, "StopContainer still runs");
  stop.finish();
  assert.equal(await tracker.settled(1_000), true);
  assert.deepEqual(tracker.inFlight(), []);
});

Deno.test("CallTracker.cutAll() cancels every call, and settled() resolves at once without calls", async () => {
  const tracker = new CallTracker();
  assert.equal(await tracker.settled(0), true);
  const stop = call(tracker, "StopContainer");
  assert.deepEqual(tracker.inFlight().map((c) => c.rpc), ["StopContainer"]);
  tracker.cutAll();
  assert.equal(stop.aborted.length, 1);
  stop.finish();
  assert.equal(await tracker.settled(1_000), true);
});
