import assert from "node:assert/strict";
import { status } from "@grpc/grpc-js";
import { ContainerState } from "../../gen/runtime/v1/api_pb.ts";
import type { LibpodContainerSpec } from "../../podman/types.ts";
import { type InProcessCri, startInProcessCri } from "../../../tests/harness/in_process_cri.ts";
import {
  createContainer,
  hungPastDeadline,
  rejectsWith,
  runSandbox,
  storeBusybox,
} from "../../../tests/harness/handler_fixtures.ts";

/** Two sandboxes; three containers: `a` running and `b` created in the first, `c` exited in the second. */
async function three(cri: InProcessCri) {
  const s1 = await runSandbox(cri, "one");
  const s2 = await runSandbox(cri, "two");
  const a = await createContainer(cri, s1, "a", { labels: { app: "web", tier: "front" } });
  const b = await createContainer(cri, s1, "b", { labels: { app: "web", tier: "back" } });
  const c = await createContainer(cri, s2, "c", { labels: { app: "db" } });
  await cri.runtime.startContainer({ containerId: a });
  await cri.runtime.startContainer({ containerId: c });
  await cri.runtime.stopContainer({ containerId: c, timeout: 0n });
  return { s1, s2, a, b, c };
}

const ids = async (cri: InProcessCri, filter?: Record<string, unknown>) =>
  (await cri.runtime.listContainers(filter ? { filter } : {})).containers.map((c) => c.id).sort();

Deno.test("listContainers() lists every container of ours with its sandbox, metadata, image, state and labels", async () => {
  await using cri = await startInProcessCri();
  const { s1, a, b, c } = await three(cri);
  const { containers } = await cri.runtime.listContainers({});
  assert.deepEqual(containers.map((x) => x.id).sort(), [a, b, c].sort());
  const item = containers.find((x) => x.id === a)!;
  assert.equal(item.podSandboxId, s1);
  assert.equal(item.metadata?.name, "a");
  assert.equal(item.image?.image, "busybox");
  assert.match(item.imageRef, /^sha256:[0-9a-f]{64}$/);
  assert.equal(item.state, ContainerState.CONTAINER_RUNNING);
  assert.deepEqual(item.labels, { app: "web", tier: "front" });
  assert.ok(item.createdAt > 0n);
});

Deno.test("listContainers() leaves out containers cri-podman did not create (infra containers, foreign ones)", async () => {
  await using cri = await startInProcessCri();
  const { s1, a, b, c } = await three(cri);
  await cri.fake.containers.create(
    { name: "foreign", pod: s1, image: "docker.io/library/busybox:latest" } as LibpodContainerSpec,
  );
  await cri.settle();
  assert.deepEqual(await ids(cri), [a, b, c].sort());
});

Deno.test("listContainers() filters by ID prefix, sandbox ID (prefix), state and labels, all at once", async (t) => {
  await using cri = await startInProcessCri();
  const { s1, s2, a, b, c } = await three(cri);
  const cases: Array<[string, Record<string, unknown>, string[]]> = [
    ["the full ID", { id: b }, [b]],
    ["an ID prefix", { id: a.slice(0, 12) }, [a]],
    ["an unknown ID", { id: "ffffffffffff0000" }, []],
    ["a sandbox", { podSandboxId: s1 }, [a, b]],
    ["a sandbox ID prefix", { podSandboxId: s2.slice(0, 8) }, [c]],
    ["an unknown sandbox", { podSandboxId: "ffffffffffff0000" }, []],
    ["state CREATED", { state: { state: ContainerState.CONTAINER_CREATED } }, [b]],
    ["state RUNNING", { state: { state: ContainerState.CONTAINER_RUNNING } }, [a]],
    ["state EXITED", { state: { state: ContainerState.CONTAINER_EXITED } }, [c]],
    ["a label", { labelSelector: { app: "web" } }, [a, b]],
    ["two labels", { labelSelector: { app: "web", tier: "back" } }, [b]],
    ["a label no container has", { labelSelector: { app: "cache" } }, []],
    ["sandbox, state and label", {
      podSandboxId: s1,
      state: { state: ContainerState.CONTAINER_RUNNING },
      labelSelector: { tier: "front" },
    }, [a]],
    ["sandbox and a state none there has", { podSandboxId: s1, state: { state: ContainerState.CONTAINER_EXITED } }, []],
    ["an empty filter", {}, [a, b, c]],
  ];
  for (const [what, filter, expected] of cases) {
    await t.step(what, async () => assert.deepEqual(await ids(cri, filter), expected.sort()));
  }
});

Deno.test("listContainers() is never older than a completed call, even with no event delivered", async () => {
  await using cri = await startInProcessCri();
  storeBusybox(cri);
  const podSandboxId = await runSandbox(cri, "one");
  cri.fake.holdEvents();
  const states = async () => (await cri.runtime.listContainers({})).containers.map((c) => [c.id, c.state]);

  const containerId = await createContainer(cri, podSandboxId, "a", { labels: {} });
  assert.deepEqual(await states(), [[containerId, ContainerState.CONTAINER_CREATED]], "after CreateContainer");
  await cri.runtime.startContainer({ containerId });
  assert.deepEqual(await states(), [[containerId, ContainerState.CONTAINER_RUNNING]], "after StartContainer");
  await cri.runtime.stopContainer({ containerId, timeout: 10n });
  assert.deepEqual(await states(), [[containerId, ContainerState.CONTAINER_EXITED]], "after StopContainer");
  await cri.runtime.removeContainer({ containerId });
  assert.deepEqual(await states(), [], "after RemoveContainer");

  // The held events, delivered late, change nothing: each re-reads Podman, which agrees.
  cri.fake.releaseEvents();
  await cri.settle();
  assert.deepEqual(await states(), []);
});

Deno.test("listContainers() shows a change made behind cri-podman's back once its event arrived", async () => {
  await using cri = await startInProcessCri();
  const { a } = await three(cri);
  cri.fake.exitBehindOurBack(a, 137);
  await cri.settle();
  const item = (await cri.runtime.listContainers({ filter: { id: a } })).containers[0];
  assert.equal(item?.state, ContainerState.CONTAINER_EXITED);
});

Deno.test("listContainers() asks Podman directly while the event stream is down, and answers its failures", async (t) => {
  await using cri = await startInProcessCri();
  const { a, b, c } = await three(cri);
  cri.fake.disconnectEvents();
  await t.step("a fresh list from Podman", async () => {
    cri.fake.exitBehindOurBack(a, 1); // no event reaches the cache now
    const before = cri.fake.callsOf("containers.list").length;
    assert.deepEqual(await ids(cri), [a, b, c].sort());
    assert.equal(cri.fake.callsOf("containers.list").length, before + 1);
    const item = (await cri.runtime.listContainers({ filter: { id: a } })).containers[0];
    assert.equal(item?.state, ContainerState.CONTAINER_EXITED);
  });
  await t.step("Podman unreachable is UNAVAILABLE", async () => {
    cri.fake.failNext("containers.list", "unreachable", "connect ECONNREFUSED");
    await assert.rejects(cri.runtime.listContainers({}), rejectsWith(status.UNAVAILABLE, /ECONNREFUSED/));
  });
  await t.step("a hung list is aborted at the deadline", async () => {
    await hungPastDeadline(cri, "containers.list", (opts) => cri.runtime.listContainers({}, opts));
  });
});

Deno.test("listContainers() without a filter answers each change of the cache, never a kept older answer", async () => {
  await using cri = await startInProcessCri();
  const { a, b, c } = await three(cri);
  await cri.settle();
  const states = async () =>
    Object.fromEntries((await cri.runtime.listContainers({})).containers.map((x) => [x.id, x.state]));
  const before = cri.fake.calls.length;
  assert.equal((await states())[b], ContainerState.CONTAINER_CREATED);
  assert.equal((await states())[b], ContainerState.CONTAINER_CREATED, "the kept answer, while nothing changed");
  assert.equal(cri.fake.calls.length, before, "from memory");
  await cri.runtime.startContainer({ containerId: b });
  assert.equal((await states())[b], ContainerState.CONTAINER_RUNNING, "the next answer after a call changed it");
  cri.fake.exitBehindOurBack(a);
  await cri.settle();
  assert.equal((await states())[a], ContainerState.CONTAINER_EXITED, "and after an event changed it");
  await cri.runtime.removeContainer({ containerId: c });
  assert.equal((await states())[c], undefined);
});
