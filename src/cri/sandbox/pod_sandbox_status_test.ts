import { netnsKeeperName } from "../../translate/sandbox.ts";
import assert from "node:assert/strict";
import { status } from "@grpc/grpc-js";
import { NamespaceMode, PodSandboxState } from "../../gen/runtime/v1/api_pb.ts";
import type { PodmanFailure } from "../../podman/errors.ts";
import { type InProcessCri, startInProcessCri } from "../../../tests/harness/in_process_cri.ts";
import {
  hungAndCancelled,
  hungPastDeadline,
  refusesEmptyId,
  rejectsWith,
  runSandbox,
  type SandboxPatch,
} from "../../../tests/harness/handler_fixtures.ts";

/** Runs sandbox `name` as its attempt 2 (with `patch`), so that the attempt shows in its metadata and pod name. */
const runAttempt2 = (cri: InProcessCri, name: string, patch: SandboxPatch = {}) =>
  runSandbox(cri, name, { ...patch, metadata: { attempt: 2 } });

Deno.test("podSandboxStatus() reports a running sandbox READY with its IP, metadata, labels and namespaces", async () => {
  await using cri = await startInProcessCri();
  const id = await runAttempt2(cri, "a", {
    labels: { app: "web" },
    annotations: { owner: "team" },
    linux: { securityContext: { namespaceOptions: { pid: NamespaceMode.CONTAINER } } },
  });
  const infra = cri.fake.containers_.get(cri.fake.pods_.get(id)!.infraId)!;
  const before = BigInt(Date.now()) * 1_000_000n;
  const { status: s, info, timestamp } = await cri.runtime.podSandboxStatus({ podSandboxId: id });
  assert.equal(s?.id, id);
  assert.equal(s?.state, PodSandboxState.SANDBOX_READY);
  assert.deepEqual(
    {
      name: s?.metadata?.name,
      namespace: s?.metadata?.namespace,
      uid: s?.metadata?.uid,
      attempt: s?.metadata?.attempt,
    },
    { name: "a", namespace: "default", uid: "a-uid", attempt: 2 },
  );
  assert.equal(s?.network?.ip, infra.ip);
  assert.match(s?.network?.ip ?? "", /^10\.85\.0\.\d+$/);
  assert.deepEqual(s?.labels, { app: "web" });
  assert.deepEqual(s?.annotations, { owner: "team" });
  assert.equal(s?.linux?.namespaces?.options?.pid, NamespaceMode.CONTAINER);
  assert.equal(s?.createdAt, BigInt(Date.parse(cri.fake.pods_.get(id)!.created)) * 1_000_000n);
  assert.deepEqual(info, {}, "no verbose info unless asked");
  assert.ok(timestamp >= before, "the answer is timestamped now");
});

Deno.test("podSandboxStatus() reports a stopped sandbox NOTREADY without an IP", async () => {
  await using cri = await startInProcessCri();
  const id = await runAttempt2(cri, "stopped");
  await cri.runtime.stopPodSandbox({ podSandboxId: id });
  const s = (await cri.runtime.podSandboxStatus({ podSandboxId: id })).status;
  assert.equal(s?.state, PodSandboxState.SANDBOX_NOTREADY);
  assert.equal(s?.network?.ip, "");
});

Deno.test("podSandboxStatus() sees an infra container that exited behind cri-podman's back", async () => {
  await using cri = await startInProcessCri();
  const id = await runAttempt2(cri, "behind");
  cri.fake.exitBehindOurBack(cri.fake.pods_.get(id)!.infraId);
  await cri.settle(); // Podman's event reaches the cache (its latency is the bound for changes behind our back)
  assert.equal(
    (await cri.runtime.podSandboxStatus({ podSandboxId: id })).status?.state,
    PodSandboxState.SANDBOX_NOTREADY,
  );
});

Deno.test("podSandboxStatus() with verbose tells the pod, infra container, PID, namespaces and recorded resources", async () => {
  await using cri = await startInProcessCri();
  const id = await runAttempt2(cri, "v", {
    hostname: "v-host",
    linux: { cgroupParent: "/kubepods/pod-v", resources: { cpuShares: 256n } },
  });
  const pod = cri.fake.pods_.get(id)!;
  const infra = cri.fake.containers_.get(pod.infraId)!;
  const read = async () =>
    JSON.parse((await cri.runtime.podSandboxStatus({ podSandboxId: id, verbose: true })).info["info"] ?? "{}");
  const info = await read();
  assert.equal(info.podId, id);
  assert.equal(info.podName, "k8s_v_default_v-uid_2");
  assert.equal(info.infraContainerId, pod.infraId);
  assert.equal(info.pid, infra.pid);
  assert.ok(info.pid > 0);
  assert.equal(info.podState, "Running");
  assert.equal(info.hostname, "v-host");
  assert.deepEqual(info.sharedNamespaces, ["net", "uts", "ipc", "pid"]);
  assert.equal(info.network, "cri-podman");
  assert.equal(info.cgroupParent, "/kubepods/pod-v");
  assert.equal(info.podResources.cpuShares, "256", "64-bit numbers are strings in JSON");
  assert.equal(info.resources, null, "nothing recorded by UpdatePodSandboxResources yet");
  await cri.runtime.updatePodSandboxResources({ podSandboxId: id, resources: { memoryLimitInBytes: 1n << 30n } });
  assert.equal((await read()).resources.resources.memoryLimitInBytes, String(1n << 30n));
});

Deno.test("podSandboxStatus() of a host-network sandbox reports no IP", async () => {
  await using cri = await startInProcessCri();
  const id = await runAttempt2(cri, "host", {
    linux: { securityContext: { namespaceOptions: { network: NamespaceMode.NODE } } },
  });
  const s = (await cri.runtime.podSandboxStatus({ podSandboxId: id })).status;
  assert.equal(s?.state, PodSandboxState.SANDBOX_READY);
  assert.equal(s?.network?.ip, "");
  assert.equal(s?.linux?.namespaces?.options?.network, NamespaceMode.NODE);
});

Deno.test("podSandboxStatus() accepts a unique ID prefix and answers with the full ID", async () => {
  await using cri = await startInProcessCri();
  const id = await runAttempt2(cri, "prefix");
  assert.equal((await cri.runtime.podSandboxStatus({ podSandboxId: id.slice(0, 12) })).status?.id, id);
});

Deno.test("podSandboxStatus() answers NOT_FOUND naming the ID for a sandbox that is not ours or not there", async (t) => {
  await using cri = await startInProcessCri();
  const removed = await runAttempt2(cri, "gone");
  await cri.runtime.removePodSandbox({ podSandboxId: removed });
  const foreign = await cri.fake.pods.create({ name: "foreign", labels: { app: "mine" } });
  const keeper = [...cri.fake.pods_.values()].find((p) => p.name === netnsKeeperName("cri-podman"))!.id;
  const cases: Array<[string, string]> = [
    ["removed", removed],
    ["unknown", "abcdef".repeat(10) + "abcd"],
    ["a pod name", "k8s_gone_default_gone-uid_2"],
    ["a foreign pod", foreign],
    ["the netns keeper", keeper],
  ];
  for (const [what, podSandboxId] of cases) {
    await t.step(what, async () => {
      await assert.rejects(
        cri.runtime.podSandboxStatus({ podSandboxId }),
        rejectsWith(status.NOT_FOUND, new RegExp(`Pod sandbox "${podSandboxId}" not found`)),
      );
    });
  }
});

Deno.test("podSandboxStatus() refuses an empty pod_sandbox_id with INVALID_ARGUMENT naming it", async () => {
  await using cri = await startInProcessCri();
  await refusesEmptyId("pod_sandbox_id", (podSandboxId) => cri.runtime.podSandboxStatus({ podSandboxId }));
});

Deno.test("podSandboxStatus() passes Podman's failures to the client with their code", async (t) => {
  const cases: Array<[string, PodmanFailure, status]> = [
    ["pods.inspect", "unreachable", status.UNAVAILABLE],
    ["pods.inspect", "unknown", status.UNKNOWN],
    ["containers.inspect", "unreachable", status.UNAVAILABLE],
    ["containers.inspect", "denied", status.PERMISSION_DENIED],
  ];
  for (const [op, reason, code] of cases) {
    await t.step(`${op} ${reason} → ${status[code]}`, async () => {
      await using cri = await startInProcessCri();
      const id = await runAttempt2(cri, "f");
      await cri.settle(); // the event feed's reads are done: the failure is the handler's
      await cri.cache.resync(); // and no status is kept: the handler asks Podman
      cri.fake.failNext(op, reason, `fake ${reason}`);
      await assert.rejects(cri.runtime.podSandboxStatus({ podSandboxId: id }), rejectsWith(code, /fake/));
    });
  }
});

Deno.test("podSandboxStatus() aborts a hung inspect on its deadline or a client cancel", async (t) => {
  await t.step("deadline → DEADLINE_EXCEEDED", async () => {
    await using cri = await startInProcessCri();
    const id = await runAttempt2(cri, "slow");
    await cri.settle(); // the event feed's reads are done: the hang is the handler's
    await cri.cache.resync(); // and no status is kept: the handler asks Podman
    await hungPastDeadline(cri, "pods.inspect", (opts) => cri.runtime.podSandboxStatus({ podSandboxId: id }, opts));
  });
  await t.step("client cancel on the infra container's inspect → CANCELLED", async () => {
    await using cri = await startInProcessCri();
    const id = await runAttempt2(cri, "cancel");
    await cri.settle();
    await cri.cache.resync();
    await hungAndCancelled(
      cri,
      "containers.inspect",
      (opts) => cri.runtime.podSandboxStatus({ podSandboxId: id }, opts),
    );
  });
});

Deno.test("podSandboxStatus() answers from memory: no Podman call while the status is kept", async () => {
  await using cri = await startInProcessCri();
  const id = await runAttempt2(cri, "mem");
  await cri.settle();
  // RunPodSandbox read the status with the pod (kubelet asks for it next); it is kept and kept current.
  const before = cri.fake.calls.length;
  await cri.runtime.podSandboxStatus({ podSandboxId: id });
  const { status: s } = await cri.runtime.podSandboxStatus({ podSandboxId: id });
  assert.equal(s?.state, PodSandboxState.SANDBOX_READY);
  assert.match(s?.network?.ip ?? "", /^10\.85\./);
  await assert.rejects(
    cri.runtime.podSandboxStatus({ podSandboxId: "0123456789abcdef" }),
    rejectsWith(status.NOT_FOUND, /0123456789abcdef/),
  );
  assert.deepEqual(cri.fake.calls.slice(before).map((c) => c.op), [], "no Podman call");
  // StopPodSandbox refreshes what it changed before it returns: the next status is NOTREADY at once.
  cri.fake.holdEvents();
  await cri.runtime.stopPodSandbox({ podSandboxId: id });
  assert.equal(
    (await cri.runtime.podSandboxStatus({ podSandboxId: id })).status?.state,
    PodSandboxState.SANDBOX_NOTREADY,
  );
});
