import assert from "node:assert/strict";
import { status } from "@grpc/grpc-js";
import { netnsKeeperName } from "../../translate/sandbox.ts";
const NETNS_KEEPER_NAME = netnsKeeperName("cri-podman");
import { startInProcessCri } from "../../../tests/harness/in_process_cri.ts";
import {
  hungAndCancelled,
  hungPastDeadline,
  refusesEmptyId,
  rejectsWith,
  runSandbox,
  type SandboxFailure,
  startedContainer,
  stepEachSandboxFailure,
} from "../../../tests/harness/handler_fixtures.ts";

Deno.test("removePodSandbox() removes a running sandbox with its containers; List and Status no longer know it", async () => {
  await using cri = await startInProcessCri();
  const id = await runSandbox(cri, "a");
  const keep = await runSandbox(cri, "b");
  const cid = await startedContainer(cri, id);
  const infra = cri.fake.pods_.get(id)!.infraId;
  await cri.runtime.removePodSandbox({ podSandboxId: id });
  assert.equal(cri.fake.pods_.has(id), false);
  assert.equal(cri.fake.containers_.has(cid), false);
  assert.equal(cri.fake.containers_.has(infra), false);
  // No settle(): the answer of a completed Remove is never older than the Remove.
  assert.deepEqual((await cri.runtime.listPodSandbox({})).items.map((s) => s.id), [keep]);
  assert.deepEqual((await cri.runtime.listContainers({})).containers, []);
  await assert.rejects(cri.runtime.podSandboxStatus({ podSandboxId: id }), rejectsWith(status.NOT_FOUND, /not found/));
  assert.ok(cri.fake.pods_.has(keep), "the other sandbox is untouched");
});

Deno.test("removePodSandbox() is a no-op for a sandbox that is gone or never existed", async (t) => {
  await using cri = await startInProcessCri();
  const id = await runSandbox(cri, "twice");
  await t.step("removed twice", async () => {
    await cri.runtime.stopPodSandbox({ podSandboxId: id });
    await cri.runtime.removePodSandbox({ podSandboxId: id });
    await cri.runtime.removePodSandbox({ podSandboxId: id });
    assert.equal(cri.fake.pods_.has(id), false);
  });
  await t.step("stopped after removal, then removed again", async () => {
    await cri.runtime.stopPodSandbox({ podSandboxId: id });
    await cri.runtime.removePodSandbox({ podSandboxId: id });
  });
  await t.step("an unknown ID", async () => {
    await cri.runtime.removePodSandbox({ podSandboxId: "fedcba9876543210".repeat(4) });
  });
  await t.step("not an ID at all (a pod name never resolves)", async () => {
    const other = await runSandbox(cri, "byname");
    await cri.runtime.removePodSandbox({ podSandboxId: "k8s_byname_default_byname-uid_0" });
    assert.ok(cri.fake.pods_.has(other), "a name did not remove the pod it names");
  });
});

Deno.test("removePodSandbox() never removes a pod cri-podman did not create, nor the netns keeper", async () => {
  await using cri = await startInProcessCri();
  await runSandbox(cri, "x");
  const foreign = await cri.fake.pods.create({ name: "foreign", labels: { app: "mine" } });
  const keeper = [...cri.fake.pods_.values()].find((p) => p.name === NETNS_KEEPER_NAME)!.id;
  await cri.runtime.removePodSandbox({ podSandboxId: foreign });
  await cri.runtime.removePodSandbox({ podSandboxId: keeper });
  assert.ok(cri.fake.pods_.has(foreign));
  assert.ok(cri.fake.pods_.has(keeper));
  assert.equal(cri.fake.callsOf("pods.remove").length, 0);
});

Deno.test("removePodSandbox() forgets the resources recorded for the sandbox", async () => {
  await using cri = await startInProcessCri();
  const id = await runSandbox(cri, "res");
  await cri.runtime.updatePodSandboxResources({ podSandboxId: id, resources: { cpuShares: 512n } });
  assert.ok(cri.state.sandboxResources.has(id));
  await cri.runtime.removePodSandbox({ podSandboxId: id });
  assert.equal(cri.state.sandboxResources.has(id), false);
});

Deno.test("removePodSandbox() refuses an empty pod_sandbox_id with INVALID_ARGUMENT naming it", async () => {
  await using cri = await startInProcessCri();
  await refusesEmptyId("pod_sandbox_id", (podSandboxId) => cri.runtime.removePodSandbox({ podSandboxId }));
});

Deno.test("removePodSandbox() passes Podman's failures to the client with their code", async (t) => {
  const cases: SandboxFailure[] = [
    ["pods.remove", "unreachable", status.UNAVAILABLE],
    ["pods.remove", "unknown", status.UNKNOWN],
    ["pods.remove", "in-use", status.FAILED_PRECONDITION],
    ["pods.inspect", "unreachable", status.UNAVAILABLE],
  ];
  await stepEachSandboxFailure(
    t,
    cases,
    (cri, id) => cri.runtime.removePodSandbox({ podSandboxId: id }),
    async (cri, id) => {
      assert.ok(cri.fake.pods_.has(id), "a failed removal keeps the pod");
      assert.equal((await cri.runtime.listPodSandbox({})).items.length, 1, "and List still shows it");
    },
  );
});

Deno.test("removePodSandbox() aborts a hung removal when its deadline passes and answers DEADLINE_EXCEEDED", async () => {
  await using cri = await startInProcessCri();
  const id = await runSandbox(cri, "deadline");
  await hungPastDeadline(cri, "pods.remove", (opts) => cri.runtime.removePodSandbox({ podSandboxId: id }, opts));
  assert.ok(cri.fake.pods_.has(id), "the fake's removal never ran");
});

Deno.test("removePodSandbox() aborts a hung removal when the client cancels and answers CANCELLED", async () => {
  await using cri = await startInProcessCri();
  const id = await runSandbox(cri, "cancel");
  await hungAndCancelled(cri, "pods.remove", (opts) => cri.runtime.removePodSandbox({ podSandboxId: id }, opts));
});
