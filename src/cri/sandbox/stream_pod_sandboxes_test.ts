import assert from "node:assert/strict";
import { status } from "@grpc/grpc-js";
import type { PodSandbox, StreamPodSandboxesResponse } from "../../gen/runtime/v1/api_pb.ts";
import { PodSandboxState } from "../../gen/runtime/v1/api_pb.ts";
import { STREAM_BATCH } from "../batches.ts";
import { type InProcessCri, startInProcessCri } from "../../../tests/harness/in_process_cri.ts";
import { hungPastDeadline, rejectsWith, runSandbox } from "../../../tests/harness/handler_fixtures.ts";

/** Runs `count` sandboxes (every third labelled tier=db) and returns their IDs. */
async function runSandboxes(cri: InProcessCri, count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const labels = i % 3 === 0 ? { tier: "db" } : { tier: "web" };
    ids.push(await runSandbox(cri, `s${i}`, { labels }));
  }
  return ids;
}

/** Collects StreamPodSandboxes for `req` into its messages. */
function stream(cri: InProcessCri, req: Record<string, unknown> = {}, opts = {}) {
  return cri.stream<StreamPodSandboxesResponse>("runtime", "streamPodSandboxes", req, opts);
}

/** Every sandbox ID of the messages, in order. */
const idsOf = (messages: StreamPodSandboxesResponse[]) =>
  messages.flatMap((m) => m.podSandboxes.map((s: PodSandbox) => s.id));

Deno.test("streamPodSandboxes() sends what ListPodSandbox answers in batches, each sandbox exactly once", async () => {
  await using cri = await startInProcessCri();
  const count = 2 * STREAM_BATCH + 1;
  const ids = await runSandboxes(cri, count);
  const messages = await stream(cri);
  assert.deepEqual(messages.map((m) => m.podSandboxes.length), [STREAM_BATCH, STREAM_BATCH, 1]);
  const streamed = idsOf(messages);
  assert.equal(new Set(streamed).size, count, "no sandbox twice");
  assert.deepEqual([...streamed].sort(), [...ids].sort());
  const listed = (await cri.runtime.listPodSandbox({})).items.map((s) => s.id);
  assert.deepEqual(streamed, listed, "the same items as List, in the same order");
});

Deno.test("streamPodSandboxes() applies the filter as ListPodSandbox does", async () => {
  await using cri = await startInProcessCri();
  const ids = await runSandboxes(cri, 6);
  await cri.runtime.stopPodSandbox({ podSandboxId: ids[3]! });
  const db = await stream(cri, { filter: { labelSelector: { tier: "db" } } });
  assert.deepEqual(idsOf(db).sort(), [ids[0]!, ids[3]!].sort());
  const readyDb = await stream(cri, {
    filter: { labelSelector: { tier: "db" }, state: { state: PodSandboxState.SANDBOX_READY } },
  });
  assert.deepEqual(idsOf(readyDb), [ids[0]!]);
  assert.deepEqual(idsOf(await stream(cri, { filter: { id: ids[5]!.slice(0, 10) } })), [ids[5]!]);
});

Deno.test("streamPodSandboxes() with no sandbox sends no message and ends", async () => {
  await using cri = await startInProcessCri();
  assert.deepEqual(await stream(cri), []);
});

Deno.test("streamPodSandboxes() while the event stream is lost reads Podman, and passes its failure on", async () => {
  await using cri = await startInProcessCri();
  const ids = await runSandboxes(cri, 2);
  cri.fake.disconnectEvents();
  assert.deepEqual(idsOf(await stream(cri)).sort(), [...ids].sort());
  cri.fake.failNext("pods.list", "unreachable", "connection refused");
  await assert.rejects(stream(cri), rejectsWith(status.UNAVAILABLE, /connection refused/));
  await hungPastDeadline(cri, "pods.list", (opts) => stream(cri, {}, opts));
});
