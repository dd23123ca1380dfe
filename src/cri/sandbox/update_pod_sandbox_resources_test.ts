import assert from "node:assert/strict";
import { status } from "@grpc/grpc-js";
import { type InProcessCri, startInProcessCri } from "../../../tests/harness/in_process_cri.ts";
import {
  hungAndCancelled,
  hungPastDeadline,
  refusesEmptyId,
  rejectsWith,
  type SandboxFailure,
  settledSandbox,
  stepEachSandboxFailure,
} from "../../../tests/harness/handler_fixtures.ts";

/** The resources PodSandboxStatus's verbose info shows as recorded for `id`. */
async function recorded(cri: InProcessCri, id: string) {
  const info = (await cri.runtime.podSandboxStatus({ podSandboxId: id, verbose: true })).info["info"] ?? "{}";
  return JSON.parse(info).resources;
}

Deno.test("updatePodSandboxResources() records the resources, shown in PodSandboxStatus's verbose info", async () => {
  await using cri = await startInProcessCri();
  const id = await settledSandbox(cri, "a");
  await cri.runtime.updatePodSandboxResources({
    podSandboxId: id,
    overhead: { cpuShares: 10n },
    resources: { cpuShares: 512n, memoryLimitInBytes: 256n << 20n },
  });
  const r = await recorded(cri, id);
  assert.equal(r.overhead.cpuShares, "10");
  assert.equal(r.resources.cpuShares, "512");
  assert.equal(r.resources.memoryLimitInBytes, String(256n << 20n));
  await cri.runtime.updatePodSandboxResources({ podSandboxId: id, resources: { cpuShares: 1024n } });
  assert.equal((await recorded(cri, id)).resources.cpuShares, "1024", "the last update wins");
  assert.equal((await recorded(cri, id)).overhead, null);
});

Deno.test("updatePodSandboxResources() records under the full ID when given a unique prefix", async () => {
  await using cri = await startInProcessCri();
  const id = await settledSandbox(cri, "prefix");
  await cri.runtime.updatePodSandboxResources({ podSandboxId: id.slice(0, 12), resources: { cpuShares: 2n } });
  assert.ok(cri.state.sandboxResources.has(id));
});

Deno.test("updatePodSandboxResources() answers NOT_FOUND for a sandbox that is not there or not ours", async () => {
  await using cri = await startInProcessCri();
  const foreign = await cri.fake.pods.create({ name: "foreign", labels: {} });
  for (const podSandboxId of ["abc123".repeat(10) + "abcd", foreign, "k8s_x_default_x-uid_0"]) {
    await assert.rejects(
      cri.runtime.updatePodSandboxResources({ podSandboxId, resources: {} }),
      rejectsWith(status.NOT_FOUND, /not found/),
    );
  }
  assert.equal(cri.state.sandboxResources.size, 0);
});

Deno.test("updatePodSandboxResources() refuses an empty pod_sandbox_id with INVALID_ARGUMENT naming it", async () => {
  await using cri = await startInProcessCri();
  await refusesEmptyId("pod_sandbox_id", (podSandboxId) => cri.runtime.updatePodSandboxResources({ podSandboxId }));
});

Deno.test("updatePodSandboxResources() passes Podman's failures on, and aborts a hung lookup", async (t) => {
  const cases: SandboxFailure[] = [
    ["pods.inspect", "unreachable", status.UNAVAILABLE],
    ["pods.inspect", "unknown", status.UNKNOWN],
  ];
  const update = (cri: InProcessCri, id: string, opts = {}) =>
    cri.runtime.updatePodSandboxResources({ podSandboxId: id }, opts);
  await stepEachSandboxFailure(t, cases, update, (cri) => assert.equal(cri.state.sandboxResources.size, 0));
  await t.step("deadline → DEADLINE_EXCEEDED", async () => {
    await using cri = await startInProcessCri();
    const id = await settledSandbox(cri, "slow");
    await hungPastDeadline(cri, "pods.inspect", (opts) => update(cri, id, opts));
  });
  await t.step("client cancel → CANCELLED", async () => {
    await using cri = await startInProcessCri();
    const id = await settledSandbox(cri, "cancel");
    await hungAndCancelled(cri, "pods.inspect", (opts) => update(cri, id, opts));
  });
});
