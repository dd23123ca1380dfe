import assert from "node:assert/strict";
import { status } from "@grpc/grpc-js";
import { ContainerState } from "../../gen/runtime/v1/api_pb.ts";
import { type InProcessCri, startInProcessCri } from "../../../tests/harness/in_process_cri.ts";
import {
  createContainer,
  hungPastDeadline,
  rejectsWith,
  runSandbox,
  storeBusybox,
} from "../../../tests/harness/handler_fixtures.ts";
import { makeTempDir } from "../../../tests/harness/temp.ts";

/** A sandbox with one created container; returns its IDs and the image's. */
async function created(cri: InProcessCri, logDirectory?: string) {
  const imageId = storeBusybox(cri);
  const podSandboxId = await runSandbox(cri, "web", logDirectory ? { logDirectory } : {});
  const containerId = await createContainer(cri, podSandboxId, "app", {
    metadata: { name: "app", attempt: 2 },
    labels: { tier: "web" },
    annotations: { "example.com/note": "hi" },
    stopSignal: 9, // SIGKILL
    ...(logDirectory ? { logPath: "app.log" } : {}),
    linux: {
      resources: { cpuShares: 512n },
      securityContext: { runAsUser: { value: 1000n }, runAsGroup: { value: 100n } },
    },
  });
  return { podSandboxId, containerId, imageId };
}

Deno.test("containerStatus() follows the container through created, running and exited", async (t) => {
  await using dir = await makeTempDir("unit");
  await using cri = await startInProcessCri();
  const { containerId, imageId } = await created(cri, dir.path);

  await t.step("created: what was asked for, no start or finish time", async () => {
    const { status: s, info } = await cri.runtime.containerStatus({ containerId });
    assert.equal(s?.id, containerId);
    assert.equal(s?.state, ContainerState.CONTAINER_CREATED);
    assert.deepEqual(s?.metadata, { $typeName: "runtime.v1.ContainerMetadata", name: "app", attempt: 2 });
    assert.equal(s?.image?.image, "busybox");
    assert.equal(s?.imageRef, `sha256:${imageId}`);
    assert.equal(s?.imageId, `sha256:${imageId}`);
    assert.deepEqual(s?.labels, { tier: "web" });
    assert.deepEqual(s?.annotations, { "example.com/note": "hi" });
    assert.equal(s?.logPath, `${dir.path}/app.log`);
    assert.equal(s?.stopSignal, 9);
    assert.equal(s?.resources?.linux?.cpuShares, 512n);
    assert.equal(s?.user?.linux?.uid, 1000n);
    assert.equal(s?.user?.linux?.gid, 100n);
    assert.ok((s?.createdAt ?? 0n) > 0n);
    assert.equal(s?.startedAt, 0n);
    assert.equal(s?.finishedAt, 0n);
    assert.deepEqual(info, {}, "no verbose info unless asked");
  });

  await t.step("running: a start time", async () => {
    await cri.runtime.startContainer({ containerId });
    const { status: s } = await cri.runtime.containerStatus({ containerId });
    assert.equal(s?.state, ContainerState.CONTAINER_RUNNING);
    assert.ok((s?.startedAt ?? 0n) > 0n);
    assert.equal(s?.finishedAt, 0n);
    assert.equal(s?.reason, "");
  });

  await t.step("exited behind cri-podman's back: exit code and reason Error", async () => {
    cri.fake.exitBehindOurBack(containerId, 2);
    await cri.settle(); // Podman's event reaches the cache (its latency is the bound for changes behind our back)
    const { status: s } = await cri.runtime.containerStatus({ containerId });
    assert.equal(s?.state, ContainerState.CONTAINER_EXITED);
    assert.equal(s?.exitCode, 2);
    assert.equal(s?.reason, "Error");
    assert.ok((s?.finishedAt ?? 0n) >= (s?.startedAt ?? 0n) && (s?.finishedAt ?? 0n) > 0n);
  });
});

Deno.test("containerStatus() of a container that exited with 0 says Completed", async () => {
  await using cri = await startInProcessCri();
  const { containerId } = await created(cri);
  await cri.runtime.startContainer({ containerId });
  cri.fake.exitBehindOurBack(containerId, 0);
  await cri.settle();
  const { status: s } = await cri.runtime.containerStatus({ containerId });
  assert.equal(s?.exitCode, 0);
  assert.equal(s?.reason, "Completed");
});

Deno.test("containerStatus() with verbose adds Podman's facts as JSON", async () => {
  await using cri = await startInProcessCri();
  const { podSandboxId, containerId } = await created(cri);
  await cri.runtime.startContainer({ containerId });
  const { info } = await cri.runtime.containerStatus({ containerId, verbose: true });
  const facts = JSON.parse(info["info"]!);
  assert.equal(facts.pid, cri.fake.containers_.get(containerId)?.pid);
  assert.ok(facts.pid > 0);
  assert.equal(facts.sandboxId, podSandboxId);
  assert.equal(facts.podmanName, "k8s_app_web_default_web-uid_2");
  assert.equal(facts.podmanStatus, "running");
  assert.equal(facts.statsSource, "proc", "ContainerStats' numbers come from the container's processes");
});

Deno.test("containerStatus() answers NOT_FOUND for an unknown container, and INVALID_ARGUMENT for none", async (t) => {
  await using cri = await startInProcessCri();
  const { podSandboxId } = await created(cri);
  const infra = cri.fake.pods_.get(podSandboxId)!.infraId;
  const cases: Array<[string, string]> = [
    ["an unknown ID", "0123456789abcdef"],
    ["a name (names never resolve)", "k8s_app_web_default_web-uid_2"],
    ["an infra container (not a CRI container)", infra],
  ];
  for (const [what, id] of cases) {
    await t.step(what, async () => {
      await assert.rejects(
        cri.runtime.containerStatus({ containerId: id }),
        rejectsWith(status.NOT_FOUND, /not found/),
      );
    });
  }
  await t.step("no ID", async () => {
    await assert.rejects(
      cri.runtime.containerStatus({ containerId: "" }),
      rejectsWith(status.INVALID_ARGUMENT, /container_id/),
    );
  });
});

Deno.test("containerStatus() passes its deadline to Podman: a hung inspect is aborted and answers DEADLINE_EXCEEDED", async () => {
  await using cri = await startInProcessCri();
  const { containerId } = await created(cri);
  await cri.cache.resync(); // a full read keeps no status: the next ContainerStatus asks Podman
  await hungPastDeadline(cri, "containers.inspect", (opts) => cri.runtime.containerStatus({ containerId }, opts));
});

Deno.test("containerStatus() answers from memory: no Podman call while the status is kept, one after a full read", async () => {
  await using cri = await startInProcessCri();
  const { containerId } = await created(cri);
  await cri.runtime.startContainer({ containerId });
  await cri.settle();
  const before = cri.fake.calls.length;
  const kept = await cri.runtime.containerStatus({ containerId });
  assert.equal(kept.status?.state, ContainerState.CONTAINER_RUNNING);
  await cri.runtime.containerStatus({ containerId: containerId.slice(0, 12) }); // a unique prefix
  await assert.rejects(
    cri.runtime.containerStatus({ containerId: "0123456789abcdef" }),
    rejectsWith(status.NOT_FOUND, /0123456789abcdef/),
  );
  assert.deepEqual(cri.fake.calls.slice(before).map((c) => c.op), [], "no Podman call");
  await cri.cache.resync();
  const afterResync = cri.fake.calls.length;
  const read = await cri.runtime.containerStatus({ containerId });
  await cri.runtime.containerStatus({ containerId });
  assert.deepEqual(cri.fake.calls.slice(afterResync).map((c) => c.op), ["containers.inspect"], "one read, then kept");
  assert.deepEqual(read.status, kept.status, "the same answer either way");
});

Deno.test("containerStatus() after StopContainer reads the exit, never the running status kept before", async () => {
  await using cri = await startInProcessCri();
  const { containerId } = await created(cri);
  await cri.runtime.startContainer({ containerId });
  await cri.runtime.containerStatus({ containerId });
  cri.fake.holdEvents(); // only the handlers' own updates count
  await cri.runtime.stopContainer({ containerId, timeout: 0n });
  const { status: s } = await cri.runtime.containerStatus({ containerId });
  assert.equal(s?.state, ContainerState.CONTAINER_EXITED);
  assert.ok((s?.finishedAt ?? 0n) > 0n);
});
