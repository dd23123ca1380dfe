import assert from "node:assert/strict";
import { status } from "@grpc/grpc-js";
import { ContainerState, type StreamContainersResponse } from "../../gen/runtime/v1/api_pb.ts";
import { STREAM_BATCH } from "../batches.ts";
import { type InProcessCri, startInProcessCri } from "../../../tests/harness/in_process_cri.ts";
import { createContainer, hungPastDeadline, rejectsWith, runSandbox } from "../../../tests/harness/handler_fixtures.ts";

/** A sandbox with `n` created containers, named c0, c1, …; the first one runs. */
async function containers(cri: InProcessCri, n: number): Promise<string[]> {
  const podSandboxId = await runSandbox(cri);
  const ids: string[] = [];
  for (let i = 0; i < n; i++) ids.push(await createContainer(cri, podSandboxId, `c${i}`, { labels: { i: String(i) } }));
  await cri.runtime.startContainer({ containerId: ids[0]! });
  return ids;
}

const stream = (cri: InProcessCri, req: Record<string, unknown> = {}, opts = {}) =>
  cri.stream<StreamContainersResponse>("runtime", "streamContainers", req, opts);

Deno.test("streamContainers() sends what ListContainers answers, each container once, then ends", async () => {
  await using cri = await startInProcessCri();
  const ids = await containers(cri, 3);
  const messages = await stream(cri);
  assert.equal(messages.length, 1);
  assert.deepEqual(messages.flatMap((m) => m.containers.map((c) => c.id)).sort(), [...ids].sort());
  assert.deepEqual(
    messages.flatMap((m) => m.containers),
    (await cri.runtime.listContainers({})).containers,
  );
});

Deno.test("streamContainers() sends no message when there is no container", async () => {
  await using cri = await startInProcessCri();
  assert.deepEqual(await stream(cri), []);
});

Deno.test("streamContainers() applies the filter as ListContainers does", async () => {
  await using cri = await startInProcessCri();
  const ids = await containers(cri, 3);
  const only = async (filter: Record<string, unknown>) =>
    (await stream(cri, { filter })).flatMap((m) => m.containers.map((c) => c.id));
  assert.deepEqual(await only({ state: { state: ContainerState.CONTAINER_RUNNING } }), [ids[0]]);
  assert.deepEqual(await only({ labelSelector: { i: "2" } }), [ids[2]]);
  assert.deepEqual(await only({ id: ids[1]! }), [ids[1]]);
});

Deno.test("streamContainers() splits a long answer into batches of STREAM_BATCH", async () => {
  await using cri = await startInProcessCri();
  const ids = await containers(cri, STREAM_BATCH + 1);
  const messages = await stream(cri);
  assert.deepEqual(messages.map((m) => m.containers.length), [STREAM_BATCH, 1]);
  assert.deepEqual(messages.flatMap((m) => m.containers.map((c) => c.id)).sort(), [...ids].sort());
});

Deno.test("streamContainers() ends with Podman's failure while the event stream is down", async () => {
  await using cri = await startInProcessCri();
  await containers(cri, 1);
  cri.fake.disconnectEvents();
  cri.fake.failNext("containers.list", "unreachable", "connect ECONNREFUSED");
  await assert.rejects(stream(cri), rejectsWith(status.UNAVAILABLE, /ECONNREFUSED/));
  await hungPastDeadline(cri, "containers.list", (opts) => stream(cri, {}, opts));
});
