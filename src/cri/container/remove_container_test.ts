import assert from "node:assert/strict";
import { status } from "@grpc/grpc-js";
import type { LibpodContainerSpec } from "../../podman/types.ts";
import { type InProcessCri, startInProcessCri } from "../../../tests/harness/in_process_cri.ts";
import {
  BUSYBOX,
  hungAndCancelled,
  hungPastDeadline,
  refusesEmptyId,
  rejectsWith,
  runSandbox,
  startedContainer,
} from "../../../tests/harness/handler_fixtures.ts";

/** A sandbox with one running container. */
async function running(cri: InProcessCri): Promise<{ podSandboxId: string; containerId: string }> {
  const podSandboxId = await runSandbox(cri);
  return { podSandboxId, containerId: await startedContainer(cri, podSandboxId) };
}

const listed = async (cri: InProcessCri) => (await cri.runtime.listContainers({})).containers.map((c) => c.id);

Deno.test("removeContainer() removes a running container, and List forgets it at once", async () => {
  await using cri = await startInProcessCri();
  const { containerId } = await running(cri);
  cri.fake.holdEvents(); // no "remove" event: the handler's own record makes List current
  await cri.runtime.removeContainer({ containerId });
  assert.equal(cri.fake.containers_.has(containerId), false);
  assert.deepEqual(await listed(cri), []);
  cri.fake.releaseEvents();
  await cri.settle();
  assert.deepEqual(await listed(cri), []);
  await assert.rejects(cri.runtime.containerStatus({ containerId }), rejectsWith(status.NOT_FOUND, /not found/));
});

Deno.test("removeContainer() is a no-op for a container that is gone or unknown", async (t) => {
  await using cri = await startInProcessCri();
  const { containerId } = await running(cri);
  await t.step("twice", async () => {
    await cri.runtime.removeContainer({ containerId });
    const before = cri.fake.callsOf("containers.remove").length;
    await cri.runtime.removeContainer({ containerId });
    assert.equal(cri.fake.callsOf("containers.remove").length, before, "nothing to remove");
  });
  await t.step("an unknown ID", async () => {
    await cri.runtime.removeContainer({ containerId: "0123456789abcdef" });
  });
  await t.step("not an ID at all (names never resolve)", async () => {
    const other = await startedContainer(cri, await runSandbox(cri, "byname"), "byname");
    const name = cri.fake.containers_.get(other)!.name;
    await cri.runtime.removeContainer({ containerId: name });
    assert.ok(cri.fake.containers_.has(other), `the name ${name} did not remove the container it names`);
    await cri.runtime.removeContainer({ containerId: other });
  });
  assert.deepEqual(await listed(cri), []);
});

Deno.test("removeContainer() leaves containers cri-podman did not create alone", async () => {
  await using cri = await startInProcessCri();
  const { podSandboxId } = await running(cri);
  const foreign = await cri.fake.containers.create(
    { name: "foreign", pod: podSandboxId, image: BUSYBOX } as LibpodContainerSpec,
  );
  await cri.runtime.removeContainer({ containerId: foreign });
  assert.equal(cri.fake.containers_.has(foreign), true);
});

Deno.test("removeContainer() refuses an empty ID with INVALID_ARGUMENT naming container_id", async () => {
  await using cri = await startInProcessCri();
  await refusesEmptyId("container_id", (containerId) => cri.runtime.removeContainer({ containerId }));
});

Deno.test("removeContainer() keeps the container listed when Podman fails to remove it", async () => {
  await using cri = await startInProcessCri();
  const { containerId } = await running(cri);
  cri.fake.failNext("containers.remove", "unknown", "device or resource busy");
  await assert.rejects(cri.runtime.removeContainer({ containerId }), rejectsWith(status.UNKNOWN, /resource busy/));
  assert.deepEqual(await listed(cri), [containerId]);
  await cri.runtime.removeContainer({ containerId }); // and a retry removes it
  assert.deepEqual(await listed(cri), []);
});

Deno.test("removeContainer() passes a client cancel to Podman: a hung remove is aborted and answers CANCELLED", async () => {
  await using cri = await startInProcessCri();
  const { containerId } = await running(cri);
  await hungAndCancelled(cri, "containers.remove", (opts) => cri.runtime.removeContainer({ containerId }, opts));
  assert.deepEqual(await listed(cri), [containerId], "still there, and still listed");
});

Deno.test("removeContainer() passes its deadline to Podman: a hung remove is aborted and answers DEADLINE_EXCEEDED", async () => {
  await using cri = await startInProcessCri();
  const { containerId } = await running(cri);
  await hungPastDeadline(cri, "containers.remove", (opts) => cri.runtime.removeContainer({ containerId }, opts));
});
