import assert from "node:assert/strict";
import { ContainerState } from "../../gen/runtime/v1/api_pb.ts";
import { type InProcessCri, startInProcessCri } from "../../../tests/harness/in_process_cri.ts";
import {
  type CallWith,
  hungAndCancelled,
  hungPastDeadline,
  refusesEmptyId,
  runSandbox,
  startedContainer,
} from "../../../tests/harness/handler_fixtures.ts";

/** A sandbox with one running container. */
async function running(cri: InProcessCri): Promise<string> {
  return await startedContainer(cri, await runSandbox(cri));
}

/** StopContainer of `containerId` with a 30 s grace period, to be run with the per-call options it is given. */
const stopCall = (cri: InProcessCri, containerId: string): CallWith => (opts) =>
  cri.runtime.stopContainer({ containerId, timeout: 30n }, opts);

const states = async (cri: InProcessCri) => (await cri.runtime.listContainers({})).containers.map((c) => c.state);

Deno.test("stopContainer() stops a running container with the timeout given, and List shows EXITED at once", async () => {
  await using cri = await startInProcessCri();
  const containerId = await running(cri);
  cri.fake.holdEvents(); // no "died" event: the handler's own record makes List current
  await cri.runtime.stopContainer({ containerId, timeout: 7n });
  assert.deepEqual(cri.fake.callsOf("containers.stop").map((c) => c.args), [[containerId, 7]]);
  assert.equal(cri.fake.containers_.get(containerId)?.status, "exited");
  assert.deepEqual(await states(cri), [ContainerState.CONTAINER_EXITED]);
  cri.fake.releaseEvents();
  await cri.settle();
  assert.deepEqual(await states(cri), [ContainerState.CONTAINER_EXITED]);
  const s = await cri.runtime.containerStatus({ containerId });
  assert.equal(s.status?.state, ContainerState.CONTAINER_EXITED);
  assert.ok((s.status?.finishedAt ?? 0n) > 0n);
});

Deno.test("stopContainer() with timeout 0 (or less) asks Podman to kill at once", async () => {
  await using cri = await startInProcessCri();
  const containerId = await running(cri);
  await cri.runtime.stopContainer({ containerId, timeout: -5n });
  assert.deepEqual(cri.fake.callsOf("containers.stop").map((c) => c.args[1]), [0]);
  assert.equal((await cri.runtime.containerStatus({ containerId })).status?.exitCode, 137);
});

Deno.test("stopContainer() is a no-op for a container that is stopped, gone or unknown", async (t) => {
  await using cri = await startInProcessCri();
  const containerId = await running(cri);
  await t.step("twice", async () => {
    await cri.runtime.stopContainer({ containerId, timeout: 1n });
    await cri.runtime.stopContainer({ containerId, timeout: 1n });
    assert.deepEqual(await states(cri), [ContainerState.CONTAINER_EXITED]);
  });
  await t.step("removed", async () => {
    await cri.runtime.removeContainer({ containerId });
    const before = cri.fake.callsOf("containers.stop").length;
    await cri.runtime.stopContainer({ containerId, timeout: 1n });
    assert.equal(cri.fake.callsOf("containers.stop").length, before, "nothing to stop");
  });
  await t.step("an unknown ID", async () => {
    await cri.runtime.stopContainer({ containerId: "0123456789abcdef", timeout: 1n });
  });
  await t.step("not an ID at all (names never resolve)", async () => {
    const other = await startedContainer(cri, await runSandbox(cri, "byname"), "byname");
    const name = cri.fake.containers_.get(other)!.name;
    await cri.runtime.stopContainer({ containerId: name, timeout: 1n });
    assert.equal(cri.fake.containers_.get(other)!.status, "running", `the name ${name} did not stop what it names`);
  });
});

Deno.test("stopContainer() leaves containers cri-podman did not create alone", async () => {
  await using cri = await startInProcessCri();
  await running(cri);
  const infra = [...cri.fake.containers_.values()].find((c) => c.isInfra && c.status === "running")!;
  await cri.runtime.stopContainer({ containerId: infra.id, timeout: 0n });
  assert.equal(cri.fake.containers_.get(infra.id)?.status, "running");
});

Deno.test("stopContainer() refuses an empty ID with INVALID_ARGUMENT naming container_id", async () => {
  await using cri = await startInProcessCri();
  await refusesEmptyId("container_id", (containerId) => cri.runtime.stopContainer({ containerId }));
});

Deno.test("stopContainer() passes its deadline to Podman: a hung stop is aborted and answers DEADLINE_EXCEEDED", async () => {
  await using cri = await startInProcessCri();
  const containerId = await running(cri);
  await hungPastDeadline(cri, "containers.stop", stopCall(cri, containerId));
  assert.deepEqual(await states(cri), [ContainerState.CONTAINER_RUNNING], "not recorded as stopped");
});

Deno.test("stopContainer() passes a client cancel to Podman: a hung stop is aborted and answers CANCELLED", async () => {
  await using cri = await startInProcessCri();
  const containerId = await running(cri);
  await hungAndCancelled(cri, "containers.stop", stopCall(cri, containerId));
});
