import assert from "node:assert/strict";
import { status } from "@grpc/grpc-js";
import { PodSandboxState } from "../../gen/runtime/v1/api_pb.ts";
import { sandboxLabels } from "../../translate/labels.ts";
import { type InProcessCri, startInProcessCri } from "../../../tests/harness/in_process_cri.ts";
import {
  holdFeedReads,
  hungAndCancelled,
  hungPastDeadline,
  rejectsWith,
  runSandbox,
  sandboxConfig,
} from "../../../tests/harness/handler_fixtures.ts";

/** The IDs ListPodSandbox answers for `filter`, sorted. */
async function listIds(cri: InProcessCri, filter?: Record<string, unknown>): Promise<string[]> {
  return (await cri.runtime.listPodSandbox(filter ? { filter } : {})).items.map((s) => s.id).sort();
}

/** The state ListPodSandbox shows for sandbox `id` (undefined when not listed). */
async function listedState(cri: InProcessCri, id: string): Promise<PodSandboxState | undefined> {
  return (await cri.runtime.listPodSandbox({})).items.find((s) => s.id === id)?.state;
}

/** Puts pods in the fake that are not cri-podman's sandboxes: a foreign one, and one of ours with damaged labels. */
async function addOtherPods(cri: InProcessCri): Promise<void> {
  const foreign = await cri.fake.pods.create({ name: "foreign", labels: { app: "web" } });
  await cri.fake.pods.start(foreign);
  const damaged = await cri.fake.pods.create({ name: "damaged", labels: sandboxLabels("{not json", "") });
  await cri.fake.pods.start(damaged);
}

Deno.test("listPodSandbox() filters by ID prefix, state and label selector, alone and together", async (t) => {
  await using cri = await startInProcessCri();
  const web = await runSandbox(cri, "web", { labels: { app: "web", tier: "front" } });
  const db = await runSandbox(cri, "db", { labels: { app: "db" } });
  const old = await runSandbox(cri, "old", { labels: { app: "web", tier: "back" } });
  await cri.runtime.stopPodSandbox({ podSandboxId: old });
  const all = [web, db, old].sort();
  const ready = { state: { state: PodSandboxState.SANDBOX_READY } };
  const notReady = { state: { state: PodSandboxState.SANDBOX_NOTREADY } };
  await t.step("no filter", async () => assert.deepEqual(await listIds(cri), all));
  await t.step("an empty filter", async () => assert.deepEqual(await listIds(cri, {}), all));
  await t.step("full ID", async () => assert.deepEqual(await listIds(cri, { id: db }), [db]));
  await t.step("ID prefix", async () => assert.deepEqual(await listIds(cri, { id: web.slice(0, 8) }), [web]));
  await t.step("unknown ID", async () => assert.deepEqual(await listIds(cri, { id: "zzz" }), []));
  await t.step("READY", async () => assert.deepEqual(await listIds(cri, ready), [web, db].sort()));
  await t.step("NOTREADY", async () => assert.deepEqual(await listIds(cri, notReady), [old]));
  await t.step("one label", async () => {
    assert.deepEqual(await listIds(cri, { labelSelector: { app: "web" } }), [web, old].sort());
  });
  await t.step("every label must match", async () => {
    assert.deepEqual(await listIds(cri, { labelSelector: { app: "web", tier: "back" } }), [old]);
    assert.deepEqual(await listIds(cri, { labelSelector: { app: "web", tier: "none" } }), []);
  });
  await t.step("a label and a state", async () => {
    assert.deepEqual(await listIds(cri, { ...ready, labelSelector: { app: "web" } }), [web]);
  });
  await t.step("an ID and a state that do not meet", async () => {
    assert.deepEqual(await listIds(cri, { id: old, ...ready }), []);
  });
});

Deno.test("listPodSandbox() answers each item with its metadata, state, creation time, labels and annotations", async () => {
  await using cri = await startInProcessCri();
  const id = (await cri.runtime.runPodSandbox({
    config: sandboxConfig("item", { labels: { a: "1" }, annotations: { b: "2" } }),
  }))
    .podSandboxId;
  const [item] = (await cri.runtime.listPodSandbox({})).items;
  assert.equal(item?.id, id);
  assert.equal(item?.metadata?.name, "item");
  assert.equal(item?.metadata?.uid, "item-uid");
  assert.equal(item?.state, PodSandboxState.SANDBOX_READY);
  assert.equal(item?.createdAt, BigInt(Date.parse(cri.fake.pods_.get(id)!.created)) * 1_000_000n);
  assert.deepEqual(item?.labels, { a: "1" });
  assert.deepEqual(item?.annotations, { b: "2" });
  assert.equal(item?.runtimeHandler, "");
});

Deno.test("listPodSandbox() never lists pods cri-podman did not create, from its cache or from Podman", async (t) => {
  await using cri = await startInProcessCri();
  const ours = await runSandbox(cri, "ours", { labels: { app: "web" } });
  await addOtherPods(cri);
  await cri.settle();
  assert.equal(cri.fake.pods_.size, 4, "ours, the netns keeper, a foreign pod, a damaged one");
  await t.step("from the event-fed cache", async () => {
    assert.deepEqual(await listIds(cri), [ours]);
    assert.deepEqual(await listIds(cri, { labelSelector: { app: "web" } }), [ours]);
  });
  await t.step("straight from Podman (event stream lost)", async () => {
    cri.fake.disconnectEvents();
    assert.deepEqual(await listIds(cri), [ours]);
  });
  await t.step("after a resync", async () => {
    await cri.cache.resync();
    assert.deepEqual(await listIds(cri), [ours]);
  });
});

Deno.test("listPodSandbox() is never older than a completed call: Run, Stop and Remove show at once", async () => {
  await using cri = await startInProcessCri();
  // No settle() anywhere: each answer must reflect the call that completed just before it.
  const id = await runSandbox(cri, "ryw");
  assert.equal(await listedState(cri, id), PodSandboxState.SANDBOX_READY);
  await cri.runtime.stopPodSandbox({ podSandboxId: id });
  assert.equal(await listedState(cri, id), PodSandboxState.SANDBOX_NOTREADY);
  await cri.runtime.removePodSandbox({ podSandboxId: id });
  assert.equal(await listedState(cri, id), undefined);
  assert.equal(cri.fake.callsOf("pods.list").length, 1, "every answer came from the cache (one read at start)");
});

Deno.test("listPodSandbox() is never older than a completed call even when event reads land late", async () => {
  await using cri = await startInProcessCri();
  const held = holdFeedReads(cri.fake);
  const id = await runSandbox(cri, "late");
  await cri.runtime.stopPodSandbox({ podSandboxId: id });
  // The feed read the pod while it was created and running; those answers land after the Stop completed.
  for (const { release } of held.splice(0)) release();
  await cri.settle();
  assert.equal(await listedState(cri, id), PodSandboxState.SANDBOX_NOTREADY);
  await cri.runtime.removePodSandbox({ podSandboxId: id });
  for (const { release } of held.splice(0)) release();
  await cri.settle();
  assert.equal(await listedState(cri, id), undefined);
  for (const { release } of held.splice(0)) release();
});

Deno.test("listPodSandbox() shows a change made behind cri-podman's back once its event is fed", async (t) => {
  await using cri = await startInProcessCri();
  const id = await runSandbox(cri, "behind");
  const other = await runSandbox(cri, "other");
  await t.step("the infra container exits → NOTREADY", async () => {
    cri.fake.exitBehindOurBack(cri.fake.pods_.get(id)!.infraId);
    await cri.settle();
    assert.equal(await listedState(cri, id), PodSandboxState.SANDBOX_NOTREADY);
    assert.equal(await listedState(cri, other), PodSandboxState.SANDBOX_READY);
  });
  await t.step("the pod is started again → READY", async () => {
    await cri.fake.pods.start(id);
    await cri.settle();
    assert.equal(await listedState(cri, id), PodSandboxState.SANDBOX_READY);
  });
  await t.step("the pod is removed → gone", async () => {
    await cri.fake.pods.remove(id);
    await cri.settle();
    assert.equal(await listedState(cri, id), undefined);
  });
  assert.equal(cri.fake.callsOf("pods.list").length, 1, "events, not full reads, kept the cache current");
});

Deno.test("listPodSandbox() asks Podman directly while the event stream is lost, and still answers right", async () => {
  await using cri = await startInProcessCri();
  const id = await runSandbox(cri, "lost");
  cri.fake.disconnectEvents();
  const reads = cri.fake.callsOf("pods.list").length;
  assert.equal(await listedState(cri, id), PodSandboxState.SANDBOX_READY);
  assert.equal(cri.fake.callsOf("pods.list").length, reads + 1, "one read of Podman per List");
  // A change no event tells of: only Podman knows.
  const infra = cri.fake.containers_.get(cri.fake.pods_.get(id)!.infraId)!;
  infra.status = "exited";
  assert.equal(await listedState(cri, id), PodSandboxState.SANDBOX_NOTREADY);
  assert.equal(cri.fake.callsOf("pods.list").length, reads + 2);
  assert.deepEqual(cri.fake.callsOf("pods.list").at(-1)?.args[0], [
    "io.cri-podman.managed=true",
    "io.cri-podman.kind=sandbox",
  ]);
});

Deno.test("listPodSandbox() while the event stream is lost passes Podman's failure and the call's signal on", async (t) => {
  await t.step("unreachable → UNAVAILABLE", async () => {
    await using cri = await startInProcessCri();
    cri.fake.disconnectEvents();
    cri.fake.failNext("pods.list", "unreachable", "connection refused");
    await assert.rejects(cri.runtime.listPodSandbox({}), rejectsWith(status.UNAVAILABLE, /connection refused/));
  });
  await t.step("a hung read → DEADLINE_EXCEEDED, the read aborted", async () => {
    await using cri = await startInProcessCri();
    cri.fake.disconnectEvents();
    await hungPastDeadline(cri, "pods.list", (opts) => cri.runtime.listPodSandbox({}, opts));
  });
  await t.step("a client cancel → CANCELLED, the read aborted", async () => {
    await using cri = await startInProcessCri();
    cri.fake.disconnectEvents();
    await hungAndCancelled(cri, "pods.list", (opts) => cri.runtime.listPodSandbox({}, opts));
  });
});

Deno.test("listPodSandbox() without an event feed reads Podman on every call", async () => {
  await using cri = await startInProcessCri({ events: false });
  const id = await runSandbox(cri, "nofeed");
  assert.deepEqual(await listIds(cri), [id]);
  assert.equal(cri.fake.callsOf("pods.list").length, 1);
});
