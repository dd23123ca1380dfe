import assert from "node:assert/strict";
import { status } from "@grpc/grpc-js";
import { ContainerState, PodSandboxState } from "../../gen/runtime/v1/api_pb.ts";
import { type InProcessCri, startInProcessCri } from "../../../tests/harness/in_process_cri.ts";
import {
  hungAndCancelled,
  hungPastDeadline,
  refusesEmptyId,
  runSandbox,
  type SandboxFailure,
  settledSandbox,
  startedContainer,
  stepEachSandboxFailure,
} from "../../../tests/harness/handler_fixtures.ts";

/** The state of the infra container of the fake's pod `id`. */
const infraStatus = (cri: InProcessCri, id: string) =>
  cri.fake.containers_.get(cri.fake.pods_.get(id)!.infraId)?.status;

Deno.test("stopPodSandbox() stops every container of the sandbox, and List and Status show it NOTREADY at once", async () => {
  await using cri = await startInProcessCri();
  const id = await runSandbox(cri, "a");
  const cid = await startedContainer(cri, id);
  await cri.runtime.stopPodSandbox({ podSandboxId: id });
  assert.equal(infraStatus(cri, id), "exited");
  assert.equal(cri.fake.containers_.get(cid)?.status, "exited");
  // No settle(): the answer of a completed Stop is never older than the Stop.
  assert.equal((await cri.runtime.listPodSandbox({})).items[0]?.state, PodSandboxState.SANDBOX_NOTREADY);
  assert.equal((await cri.runtime.listContainers({})).containers[0]?.state, ContainerState.CONTAINER_EXITED);
  const s = (await cri.runtime.podSandboxStatus({ podSandboxId: id })).status;
  assert.equal(s?.state, PodSandboxState.SANDBOX_NOTREADY);
  assert.equal(s?.network?.ip, "", "a stopped sandbox has released its IP");
});

Deno.test("stopPodSandbox() is a no-op for a sandbox that is stopped, gone or never existed", async (t) => {
  await using cri = await startInProcessCri();
  const id = await runSandbox(cri, "twice");
  await t.step("stopped twice", async () => {
    await cri.runtime.stopPodSandbox({ podSandboxId: id });
    await cri.runtime.stopPodSandbox({ podSandboxId: id });
    assert.equal(infraStatus(cri, id), "exited");
  });
  await t.step("removed, then stopped", async () => {
    await cri.runtime.removePodSandbox({ podSandboxId: id });
    await cri.runtime.stopPodSandbox({ podSandboxId: id });
    assert.equal(cri.fake.pods_.has(id), false);
  });
  await t.step("an unknown ID", async () => {
    await cri.runtime.stopPodSandbox({ podSandboxId: "0123456789ab".repeat(5) + "cdef" });
  });
  await t.step("not an ID at all (a pod name never resolves)", async () => {
    const other = await runSandbox(cri, "byname");
    await cri.runtime.stopPodSandbox({ podSandboxId: "k8s_byname_default_byname-uid_0" });
    assert.equal(infraStatus(cri, other), "running", "a name did not stop the pod it names");
  });
});

Deno.test("stopPodSandbox() never stops a pod cri-podman did not create", async () => {
  await using cri = await startInProcessCri();
  const foreign = await cri.fake.pods.create({ name: "foreign", labels: { app: "mine" } });
  await cri.fake.pods.start(foreign);
  await cri.runtime.stopPodSandbox({ podSandboxId: foreign });
  assert.equal(infraStatus(cri, foreign), "running");
  assert.equal(cri.fake.callsOf("pods.kill").length, 0);
});

Deno.test("stopPodSandbox() accepts a unique ID prefix", async () => {
  await using cri = await startInProcessCri();
  const id = await runSandbox(cri, "prefix");
  await cri.runtime.stopPodSandbox({ podSandboxId: id.slice(0, 12) });
  assert.equal(infraStatus(cri, id), "exited");
});

Deno.test("stopPodSandbox() refuses an empty pod_sandbox_id with INVALID_ARGUMENT naming it", async () => {
  await using cri = await startInProcessCri();
  await refusesEmptyId("pod_sandbox_id", (podSandboxId) => cri.runtime.stopPodSandbox({ podSandboxId }));
});

Deno.test("stopPodSandbox() passes Podman's failures to the client with their code", async (t) => {
  const cases: SandboxFailure[] = [
    ["pods.kill", "unreachable", status.UNAVAILABLE],
    ["pods.kill", "unknown", status.UNKNOWN],
    ["pods.kill", "timeout", status.DEADLINE_EXCEEDED],
    ["pods.inspect", "unreachable", status.UNAVAILABLE],
    ["pods.inspect", "denied", status.PERMISSION_DENIED],
  ];
  await stepEachSandboxFailure(t, cases, (cri, id) => cri.runtime.stopPodSandbox({ podSandboxId: id }));
});

Deno.test("stopPodSandbox() aborts a hung kill when its deadline passes and answers DEADLINE_EXCEEDED", async () => {
  await using cri = await startInProcessCri();
  const id = await runSandbox(cri, "deadline");
  await hungPastDeadline(cri, "pods.kill", (opts) => cri.runtime.stopPodSandbox({ podSandboxId: id }, opts));
});

Deno.test("stopPodSandbox() aborts a hung kill when the client cancels and answers CANCELLED", async () => {
  await using cri = await startInProcessCri();
  const id = await runSandbox(cri, "cancel");
  await hungAndCancelled(cri, "pods.kill", (opts) => cri.runtime.stopPodSandbox({ podSandboxId: id }, opts));
});

Deno.test("stopPodSandbox() aborts a hung lookup when its deadline passes", async () => {
  await using cri = await startInProcessCri();
  const id = await settledSandbox(cri, "lookup");
  await hungPastDeadline(
    cri,
    "pods.inspect",
    (opts) => cri.runtime.stopPodSandbox({ podSandboxId: id }, opts),
    ([arg]) => arg === id,
  );
  assert.equal(cri.fake.callsOf("pods.kill").length, 0);
});

Deno.test("stopPodSandbox() reads the infra back only when Podman had already seen it exit", async (t) => {
  // Without the event feed: its refreshes would interleave with the calls this test orders.
  await using cri = await startInProcessCri({ events: false });
  const infraStop = (id: string) => {
    const infra = cri.fake.pods_.get(id)!.infraId;
    const ops = cri.fake.calls.map((c) => `${c.op}:${c.args[0]}`);
    const at = ops.indexOf(`containers.stop:${infra}`);
    assert.ok(at >= 0, "the infra is stopped through Podman");
    return { next: ops[at + 1], infra };
  };
  await t.step("running: the stop released the network, the next call is the pod's own stop", async () => {
    const id = await runSandbox(cri, "running");
    await cri.runtime.stopPodSandbox({ podSandboxId: id });
    assert.match(infraStop(id).next ?? "", /^pods\.kill:/);
  });
  await t.step("exited behind our back: the infra is read until its network is released", async () => {
    const id = await runSandbox(cri, "exited");
    cri.fake.exitBehindOurBack(cri.fake.pods_.get(id)!.infraId);
    cri.fake.calls.length = 0;
    await cri.runtime.stopPodSandbox({ podSandboxId: id });
    const { next, infra } = infraStop(id);
    assert.equal(next, `containers.inspect:${infra}`);
  });
});
