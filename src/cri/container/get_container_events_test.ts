import assert from "node:assert/strict";
import { status } from "@grpc/grpc-js";
import {
  type ContainerEventResponse,
  ContainerEventType,
  ContainerState,
  PodSandboxState,
} from "../../gen/runtime/v1/api_pb.ts";
import { type InProcessCri, startInProcessCri } from "../../../tests/harness/in_process_cri.ts";
import { createContainer, rejectsWith, runSandbox, startedContainer } from "../../../tests/harness/handler_fixtures.ts";

/** An open GetContainerEvents stream; `end()` cancels it (as a client would) and gives what it received. */
function subscribe(cri: InProcessCri) {
  const cancel = new AbortController();
  const received = cri.stream<ContainerEventResponse>("runtime", "getContainerEvents", {}, {
    signal: cancel.signal,
    timeoutMs: 60_000,
  });
  return {
    received,
    end: async () => {
      await quiet(cri);
      cancel.abort();
      return await received;
    },
  };
}

/** Lets the event feed, the cache and the event source finish everything so far. */
async function quiet(cri: InProcessCri): Promise<void> {
  for (let i = 0; i < 3; i++) {
    await cri.settle();
    await cri.containerEvents.source.idle();
  }
}

/** `id:TYPE` of each event, with short names for the IDs. */
function names(events: ContainerEventResponse[], ids: Record<string, string>): string[] {
  const byId = Object.fromEntries(Object.entries(ids).map(([name, id]) => [id, name]));
  return events.map((e) => `${byId[e.containerId] ?? e.containerId}:${ContainerEventType[e.containerEventType]}`);
}

const C = "CONTAINER_CREATED_EVENT";
const S = "CONTAINER_STARTED_EVENT";
const X = "CONTAINER_STOPPED_EVENT";
const D = "CONTAINER_DELETED_EVENT";

Deno.test("getContainerEvents() streams a sandbox's and a container's whole lifecycle to two subscribers", async (t) => {
  await using cri = await startInProcessCri();
  const a = subscribe(cri);
  const b = subscribe(cri);
  assert.equal(cri.containerEvents.hub.subscribers, 2);

  const sandbox = await runSandbox(cri, "web");
  await quiet(cri);
  const container = await createContainer(cri, sandbox, "app");
  await quiet(cri);
  await cri.runtime.startContainer({ containerId: container });
  await quiet(cri);
  const running = await cri.runtime.containerStatus({ containerId: container });
  await cri.runtime.stopContainer({ containerId: container, timeout: 0n });
  await quiet(cri);
  const exited = await cri.runtime.containerStatus({ containerId: container });
  await cri.runtime.removeContainer({ containerId: container });
  await quiet(cri);
  await cri.runtime.stopPodSandbox({ podSandboxId: sandbox });
  await quiet(cri);
  await cri.runtime.removePodSandbox({ podSandboxId: sandbox });
  const [eventsA, eventsB] = [await a.end(), await b.end()];
  assert.equal(cri.containerEvents.hub.subscribers, 0, "a cancelled stream is unsubscribed");

  await t.step("both get every transition once, in order; a sandbox's events carry its ID", () => {
    const want = ["s:" + C, "s:" + S, "c:" + C, "c:" + S, "c:" + X, "c:" + D, "s:" + X, "s:" + D];
    assert.deepEqual(names(eventsA, { s: sandbox, c: container }), want);
    assert.deepEqual(names(eventsB, { s: sandbox, c: container }), want);
  });

  await t.step(
    "each carries the sandbox's status (what PodSandboxStatus gives) and its containers' statuses",
    () => {
      for (const e of eventsA) {
        assert.equal(e.podSandboxStatus?.id, sandbox, names([e], {}).join());
        assert.equal(e.podSandboxStatus?.metadata?.uid, "web-uid");
      }
      const started = eventsA[3]!;
      assert.equal(started.podSandboxStatus?.state, PodSandboxState.SANDBOX_READY);
      assert.match(started.podSandboxStatus?.network?.ip ?? "", /^10\.85\.0\.\d+$/);
      assert.deepEqual(started.containersStatuses.map((c) => [c.id, c.state]), [
        [container, ContainerState.CONTAINER_RUNNING],
      ]);
      assert.equal(started.containersStatuses[0]?.metadata?.name, "app");
      assert.equal(started.createdAt, running.status?.startedAt, "STARTED at the container's start");
      const stopped = eventsA[4]!;
      assert.equal(stopped.containersStatuses[0]?.state, ContainerState.CONTAINER_EXITED);
      assert.equal(stopped.containersStatuses[0]?.exitCode, exited.status?.exitCode);
      assert.equal(stopped.createdAt, exited.status?.finishedAt, "STOPPED at the container's finish");
      assert.equal(eventsA[0]!.createdAt, eventsA[0]!.podSandboxStatus?.createdAt, "CREATED at the creation");
      assert.deepEqual(eventsA[5]!.containersStatuses, [], "DELETED: the container is gone from its sandbox");
      const gone = eventsA[7]!;
      assert.equal(gone.podSandboxStatus?.state, PodSandboxState.SANDBOX_NOTREADY, "a gone sandbox, from the cache");
      assert.equal(gone.podSandboxStatus?.metadata?.name, "web");
      assert.ok(gone.createdAt > 0n);
      assert.deepEqual(eventsA.map((e) => e.createdAt), eventsB.map((e) => e.createdAt));
    },
  );
});

Deno.test("getContainerEvents() after the event stream reconnects: what was missed, once, in order", async () => {
  await using cri = await startInProcessCri();
  const sandbox = await runSandbox(cri, "web");
  const quick = await createContainer(cri, sandbox, "quick");
  const gone = await startedContainer(cri, sandbox, "gone");
  await quiet(cri);
  const sub = subscribe(cri);

  cri.fake.disconnectEvents();
  // Behind cri-podman's back while no event arrives: one container runs and exits, one is removed while running.
  await cri.fake.containers.start(quick);
  cri.fake.exitBehindOurBack(quick, 3);
  await cri.fake.containers.remove(gone);
  const later = await cri.fake.containers.create({
    ...structuredClone(cri.fake.containers_.get(quick)!.spec!),
    name: "later",
  });
  await quiet(cri);
  await cri.fake.reconnectEvents();
  await quiet(cri);
  // A second reconnect with nothing new: no duplicates.
  cri.fake.disconnectEvents();
  await cri.fake.reconnectEvents();
  const events = await sub.end();

  // Each object's events in order; across objects, a full read's diff has no order to keep.
  const seen = names(events, { q: quick, g: gone, l: later });
  const of = (name: string) => seen.filter((e) => e.startsWith(`${name}:`));
  assert.equal(seen.length, 5, seen.join(", "));
  assert.deepEqual(of("q"), ["q:" + S, "q:" + X]);
  assert.deepEqual(of("g"), ["g:" + X, "g:" + D]);
  assert.deepEqual(of("l"), ["l:" + C]);
  const stopped = events[seen.indexOf("q:" + X)]!;
  const exited = stopped.containersStatuses.find((c) => c.id === quick);
  assert.equal(exited?.state, ContainerState.CONTAINER_EXITED);
  assert.equal(exited?.exitCode, 3);
  assert.equal(stopped.createdAt, exited?.finishedAt);
});

Deno.test("getContainerEvents() with nobody subscribed reads nothing from Podman", async () => {
  await using cri = await startInProcessCri();
  const sandbox = await runSandbox(cri, "web");
  await quiet(cri);
  const before = cri.fake.calls.length;
  cri.fake.exitBehindOurBack(cri.fake.pods_.get(sandbox)!.infraId);
  await quiet(cri);
  // The feed's one refresh of the sandbox (its status is kept since RunPodSandbox: its pod and infra container),
  // nothing for events.
  assert.deepEqual(cri.fake.calls.slice(before).map((c) => c.op), ["pods.inspect", "containers.inspect"]);
});

Deno.test("getContainerEvents() ends open streams with UNAVAILABLE when cri-podman stops", async () => {
  await using cri = await startInProcessCri();
  const sub = subscribe(cri);
  await runSandbox(cri, "web");
  await quiet(cri);
  cri.containerEvents.hub.close();
  await assert.rejects(sub.received, rejectsWith(status.UNAVAILABLE, /shutting down/));
  await assert.rejects(
    cri.stream("runtime", "getContainerEvents", {}),
    rejectsWith(status.UNAVAILABLE, /shutting down/),
  );
});

Deno.test("getContainerEvents() gives a STOPPED event its container's status even when it is removed before the read", async () => {
  await using cri = await startInProcessCri();
  const sandbox = await runSandbox(cri, "web");
  const container = await startedContainer(cri, sandbox, "app");
  await quiet(cri);
  const a = subscribe(cri);
  // The event source reads the pod after each change; hold that read until the container is gone (Stop and Remove
  // never read the pod), as when kubelet removes a container right after stopping it.
  let release!: () => void;
  const gate = new Promise<void>((resolve) => release = resolve);
  const inspect = cri.fake.pods.inspect;
  cri.fake.pods.inspect = async (id, opts) => {
    await gate;
    return await inspect(id, opts);
  };
  await cri.runtime.stopContainer({ containerId: container, timeout: 0n });
  await cri.runtime.removeContainer({ containerId: container });
  release();
  const events = await a.end();
  assert.deepEqual(names(events, { c: container }), ["c:" + X, "c:" + D]);
  const stopped = events[0]!.containersStatuses.find((c) => c.id === container);
  assert.equal(stopped?.state, ContainerState.CONTAINER_EXITED, "its own status, as last listed, in the event's state");
  assert.equal(stopped?.metadata?.name, "app");
  assert.equal(events[1]!.containersStatuses.some((c) => c.id === container), false, "DELETED: gone");
});
