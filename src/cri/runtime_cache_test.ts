import assert from "node:assert/strict";
import { ContainerState, PodSandboxState } from "../gen/runtime/v1/api_pb.ts";
import { createLogger } from "../observability/log.ts";
import { startInProcessCri } from "../../tests/harness/in_process_cri.ts";
import { cachedSandboxState, runSandbox, startedContainer } from "../../tests/harness/handler_fixtures.ts";
import type { FakePodman } from "../../tests/fake_podman.ts";
import { RuntimeCache } from "./runtime_cache.ts";

/** A cache of its own on the harness's fake (the harness runs without an event feed, so nothing else writes it). */
function cacheOn(fake: FakePodman): RuntimeCache {
  return new RuntimeCache(fake, createLogger({ level: "error", format: "text", write: () => {} }));
}

/** A cache of its own on the harness's fake, resynced from it. */
async function syncedCacheOn(fake: FakePodman): Promise<RuntimeCache> {
  const cache = cacheOn(fake);
  await cache.resync();
  return cache;
}

/**
 * Starts `read` with the next call of `fake[group][method]` held after it read Podman: a read that began now and lands
 * only when the returned `land()` is called (which resolves once `read` has finished).
 */
async function heldRead(
  fake: FakePodman,
  group: "pods" | "containers",
  method: "inspect" | "list",
  read: () => Promise<unknown>,
): Promise<() => Promise<void>> {
  const target = fake[group] as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
  const real = target[method]!;
  let release!: () => void;
  const released = new Promise<void>((resolve) => release = resolve);
  target[method] = async (...args: unknown[]) => {
    target[method] = real;
    const answer = await real(...args);
    await released;
    return answer;
  };
  const reading = read();
  await drain(); // the held call has read Podman
  return async () => {
    release();
    await reading;
  };
}

/** The state the cache lists for container `id` (undefined when not listed). */
async function containerState(cache: RuntimeCache, id: string): Promise<ContainerState | undefined> {
  return (await cache.containers()).find((c) => c.id === id)?.state;
}

/** Lets every promise callback queued so far run (the fake answers in microtasks). */
const drain = () => new Promise((resolve) => setTimeout(resolve, 0));

Deno.test("RuntimeCache: a refresh that began earlier never replaces one that began later", async (t) => {
  await using cri = await startInProcessCri({ events: false });
  const id = await runSandbox(cri, "a");
  const cache = await syncedCacheOn(cri.fake);
  await t.step("an older READY read lands after a newer NOTREADY read", async () => {
    const land = await heldRead(cri.fake, "pods", "inspect", () => cache.refreshSandbox(id)); // reads READY now
    await cri.fake.pods.kill(id);
    await cache.refreshSandbox(id); // reads NOTREADY
    await land();
    assert.equal(await cachedSandboxState(cache, id), PodSandboxState.SANDBOX_NOTREADY);
  });
  await t.step("an older read of a removed pod's last state lands after the read that saw it gone", async () => {
    const land = await heldRead(cri.fake, "pods", "inspect", () => cache.refreshSandbox(id));
    await cri.fake.pods.remove(id);
    await cache.refreshSandbox(id);
    await land();
    assert.equal(await cachedSandboxState(cache, id), undefined);
  });
});

Deno.test("RuntimeCache: a newer read lands first, then the older one: the newer stays", async () => {
  await using cri = await startInProcessCri({ events: false });
  const id = await runSandbox(cri, "order");
  const cache = await syncedCacheOn(cri.fake);
  const land = await heldRead(cri.fake, "pods", "inspect", () => cache.refreshSandbox(id)); // READY, held
  await cri.fake.pods.kill(id);
  await cache.refreshSandbox(id);
  assert.equal(await cachedSandboxState(cache, id), PodSandboxState.SANDBOX_NOTREADY);
  await land();
  assert.equal(await cachedSandboxState(cache, id), PodSandboxState.SANDBOX_NOTREADY);
});

Deno.test("RuntimeCache: a recorded container state outranks a read that began before it", async () => {
  await using cri = await startInProcessCri({ events: false });
  const sandbox = await runSandbox(cri, "c");
  const cid = await startedContainer(cri, sandbox, "app");
  const cache = await syncedCacheOn(cri.fake);
  const land = await heldRead(cri.fake, "containers", "inspect", () => cache.refreshContainer(cid)); // reads RUNNING
  cache.setContainerState(cid, ContainerState.CONTAINER_EXITED); // what a completed StopContainer records
  await land();
  assert.equal(await containerState(cache, cid), ContainerState.CONTAINER_EXITED);
  // A read that begins later replaces the recorded state.
  await cache.refreshContainer(cid);
  assert.equal(await containerState(cache, cid), ContainerState.CONTAINER_RUNNING, "the fake never stopped it");
});

Deno.test("RuntimeCache: a forgotten object stays gone when an older read of it lands", async () => {
  await using cri = await startInProcessCri({ events: false });
  const id = await runSandbox(cri, "forgotten");
  const cache = await syncedCacheOn(cri.fake);
  const land = await heldRead(cri.fake, "pods", "inspect", () => cache.refreshSandbox(id));
  cache.forget(id);
  await land();
  assert.equal(await cachedSandboxState(cache, id), undefined);
});

Deno.test("RuntimeCache: a resync's older list never replaces what a later read wrote", async (t) => {
  await using cri = await startInProcessCri({ events: false });
  const stopped = await runSandbox(cri, "stopped");
  const removed = await runSandbox(cri, "removed");
  const cache = cacheOn(cri.fake);
  await t.step("a sandbox stopped, and a sandbox removed, after the resync's list", async () => {
    const land = await heldRead(cri.fake, "pods", "list", () => cache.resync()); // lists both READY, held
    await cri.fake.pods.kill(stopped);
    await cache.refreshSandbox(stopped);
    await cri.fake.pods.remove(removed);
    await cache.refreshSandbox(removed);
    await land();
    assert.equal(cache.synced, true);
    assert.equal(await cachedSandboxState(cache, stopped), PodSandboxState.SANDBOX_NOTREADY);
    assert.equal(await cachedSandboxState(cache, removed), undefined);
  });
});

Deno.test("RuntimeCache: a read that began before a resync never brings back what the resync saw gone", async () => {
  await using cri = await startInProcessCri({ events: false });
  const id = await runSandbox(cri, "ghost");
  const cache = await syncedCacheOn(cri.fake);
  const land = await heldRead(cri.fake, "pods", "inspect", () => cache.refreshSandbox(id)); // reads the pod, held
  await cri.fake.pods.remove(id);
  await cache.resync(); // began later: the pod is gone
  assert.equal(await cachedSandboxState(cache, id), undefined);
  await land();
  assert.equal(await cachedSandboxState(cache, id), undefined, "the older read does not resurrect it");
});

Deno.test("RuntimeCache: a read that began before a resync never brings back a removal's tombstone it cleared", async () => {
  await using cri = await startInProcessCri({ events: false });
  const id = await runSandbox(cri, "tomb");
  const cache = await syncedCacheOn(cri.fake);
  const land = await heldRead(cri.fake, "pods", "inspect", () => cache.refreshSandbox(id)); // reads the pod, held
  await cri.fake.pods.remove(id);
  await cache.refreshSandbox(id); // a tombstone
  await cache.resync(); // clears old tombstones
  await land();
  assert.equal(await cachedSandboxState(cache, id), undefined);
});

Deno.test("RuntimeCache: a stream lost while a resync reads leaves the cache unsynced", async () => {
  await using cri = await startInProcessCri({ events: false });
  await runSandbox(cri, "lost");
  const cache = cacheOn(cri.fake);
  const land = await heldRead(cri.fake, "pods", "list", () => cache.resync());
  cache.markUnsynced(); // the stream broke: events from now on are missed
  await land();
  assert.equal(cache.synced, false, "List must keep asking Podman until a resync after the reconnection");
  await cache.resync();
  assert.equal(cache.synced, true);
});

Deno.test("RuntimeCache: answers from memory when synced, from Podman otherwise", async () => {
  await using cri = await startInProcessCri({ events: false });
  const id = await runSandbox(cri, "mem");
  const cid = await startedContainer(cri, id, "app");
  const cache = cacheOn(cri.fake);
  assert.equal(cache.synced, false);
  const lists = () => cri.fake.callsOf("pods.list").length + cri.fake.callsOf("containers.list").length;
  const before = lists();
  assert.deepEqual((await cache.sandboxes()).map((s) => s.id), [id]);
  assert.deepEqual((await cache.containers()).map((c) => c.id), [cid]);
  assert.equal(lists(), before + 2, "unsynced: one list each");
  await cache.resync();
  const synced = lists();
  assert.deepEqual((await cache.sandboxes()).map((s) => s.id), [id]);
  assert.deepEqual((await cache.containers()).map((c) => c.id), [cid]);
  assert.equal(lists(), synced, "synced: no Podman call");
  cache.markUnsynced();
  await cache.sandboxes();
  assert.equal(lists(), synced + 1);
});

Deno.test("RuntimeCache: refreshing a removed sandbox's tree drops its containers too", async () => {
  await using cri = await startInProcessCri({ events: false });
  const id = await runSandbox(cri, "tree");
  const other = await runSandbox(cri, "other");
  const cid = await startedContainer(cri, id, "app");
  const kept = await startedContainer(cri, other, "app");
  const cache = await syncedCacheOn(cri.fake);
  await cri.fake.pods.kill(id);
  await cache.refreshSandboxTree(id);
  assert.equal(await containerState(cache, cid), ContainerState.CONTAINER_EXITED);
  await cri.fake.pods.remove(id);
  await cache.refreshSandboxTree(id);
  assert.equal(await cachedSandboxState(cache, id), undefined);
  assert.deepEqual((await cache.containers()).map((c) => c.id), [kept]);
});

Deno.test("warmStatuses() reads every status a resync dropped: Status calls then ask Podman nothing", async () => {
  await using cri = await startInProcessCri();
  const sandboxId = await runSandbox(cri, "warm");
  const containerId = await startedContainer(cri, sandboxId, "c");
  const cache = await syncedCacheOn(cri.fake);
  assert.equal(await cache.warmStatuses(), 2, "one sandbox, one container");
  const before = cri.fake.calls.length;
  assert.equal((await cache.sandboxStatus(sandboxId))?.id, sandboxId);
  assert.equal((await cache.containerStatus(containerId))?.id, containerId);
  assert.equal(cri.fake.calls.length, before, "answered from memory");
  assert.equal(await cache.warmStatuses(), 0, "nothing left to read");
});
