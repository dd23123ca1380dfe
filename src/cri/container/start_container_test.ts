import assert from "node:assert/strict";
import { status } from "@grpc/grpc-js";
import { ContainerState } from "../../gen/runtime/v1/api_pb.ts";
import { type InProcessCri, startInProcessCri } from "../../../tests/harness/in_process_cri.ts";
import {
  createContainer,
  hungAndCancelled,
  hungPastDeadline,
  refusesUnknownAndEmptyContainerId,
  rejectsWith,
  runSandbox,
} from "../../../tests/harness/handler_fixtures.ts";

/** A sandbox with one created container. */
async function created(cri: InProcessCri): Promise<string> {
  return await createContainer(cri, await runSandbox(cri));
}

Deno.test("startContainer() starts a created container, and ListContainers shows it running at once", async () => {
  await using cri = await startInProcessCri();
  const containerId = await created(cri);
  cri.fake.holdEvents(); // the handler's own refresh, not Podman's events, makes List current
  await cri.runtime.startContainer({ containerId });
  assert.equal(cri.fake.containers_.get(containerId)?.status, "running");
  const { containers } = await cri.runtime.listContainers({});
  assert.deepEqual(containers.map((c) => c.state), [ContainerState.CONTAINER_RUNNING]);
  const s = await cri.runtime.containerStatus({ containerId });
  assert.equal(s.status?.state, ContainerState.CONTAINER_RUNNING);
  assert.ok((s.status?.startedAt ?? 0n) > 0n);
});

Deno.test("startContainer() answers NOT_FOUND for an unknown container and INVALID_ARGUMENT for none", async () => {
  await using cri = await startInProcessCri();
  await refusesUnknownAndEmptyContainerId((containerId) => cri.runtime.startContainer({ containerId }));
  assert.equal(cri.fake.callsOf("containers.start").length, 0);
});

Deno.test("startContainer() does not start a container cri-podman did not create", async () => {
  await using cri = await startInProcessCri();
  await created(cri);
  const infra = [...cri.fake.containers_.values()].find((c) => c.isInfra)!; // Podman's, not a CRI container
  await assert.rejects(
    cri.runtime.startContainer({ containerId: infra.id }),
    rejectsWith(status.NOT_FOUND, /not found/),
  );
  assert.equal(cri.fake.callsOf("containers.start").length, 0);
});

Deno.test("startContainer() reports the failure of the start, and List shows the container as Podman has it", async () => {
  await using cri = await startInProcessCri();
  const containerId = await created(cri);
  cri.fake.failNext("containers.start", "unknown", "crun: executable file `/app` not found");
  await assert.rejects(cri.runtime.startContainer({ containerId }), rejectsWith(status.UNKNOWN, /executable file/));
  const { containers } = await cri.runtime.listContainers({});
  assert.deepEqual(containers.map((c) => c.state), [ContainerState.CONTAINER_CREATED]);
});

Deno.test("startContainer() passes a client cancel to Podman: a hung start is aborted and answers CANCELLED", async () => {
  await using cri = await startInProcessCri();
  const containerId = await created(cri);
  await hungAndCancelled(cri, "containers.start", (opts) => cri.runtime.startContainer({ containerId }, opts));
});

Deno.test("startContainer() passes its deadline to Podman: a hung start is aborted and answers DEADLINE_EXCEEDED", async () => {
  await using cri = await startInProcessCri();
  const containerId = await created(cri);
  await hungPastDeadline(cri, "containers.start", (opts) => cri.runtime.startContainer({ containerId }, opts));
});

Deno.test("startContainer() and createContainer() take the sandbox and the container from the cache: no inspect first", async () => {
  await using cri = await startInProcessCri();
  const sandboxId = await runSandbox(cri, "kept");
  await cri.settle();
  let before = cri.fake.calls.length;
  const containerId = await createContainer(cri, sandboxId, "c");
  const creating = cri.fake.calls.slice(before).map((c) => c.op);
  assert.ok(!creating.includes("pods.inspect"), `no pod inspect: ${creating.join(", ")}`);
  await cri.settle();
  before = cri.fake.calls.length;
  await cri.runtime.startContainer({ containerId });
  // The start first (no inspect before it), then the reads back of what it changed (the call's and the event's).
  const ops = cri.fake.calls.slice(before).map((c) => c.op);
  assert.equal(ops[0], "containers.start", ops.join(", "));
  assert.ok(ops.slice(1).every((op) => op === "containers.inspect"), ops.join(", "));
});
