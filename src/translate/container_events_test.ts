import assert from "node:assert/strict";
import { ContainerEventType, ContainerState, PodSandboxState } from "../gen/runtime/v1/api_pb.ts";
import {
  containerPhase,
  eventsOf,
  eventTime,
  lifecycleEvents,
  type Phase,
  sandboxPhase,
  sandboxStatusFromItem,
} from "./container_events.ts";

const {
  CONTAINER_CREATED_EVENT: C,
  CONTAINER_STARTED_EVENT: S,
  CONTAINER_STOPPED_EVENT: X,
  CONTAINER_DELETED_EVENT: D,
} = ContainerEventType;

Deno.test("lifecycleEvents(): each change of phase, including jumps over phases, in order", () => {
  const cases: Array<[Phase | undefined, Phase | undefined, ContainerEventType[]]> = [
    [undefined, undefined, []],
    [undefined, "created", [C]],
    [undefined, "running", [C, S]],
    [undefined, "exited", [C, S, X]],
    ["created", "created", []],
    ["created", "running", [S]],
    ["created", "exited", [S, X]],
    ["created", undefined, [D]],
    ["running", "running", []],
    ["running", "exited", [X]],
    ["running", undefined, [X, D]],
    ["running", "created", []],
    ["exited", "exited", []],
    ["exited", "running", [S]],
    ["exited", "created", []],
    ["exited", undefined, [D]],
  ];
  for (const [before, after, want] of cases) {
    assert.deepEqual(lifecycleEvents(before, after), want, `${before} → ${after}`);
  }
});

Deno.test("containerPhase() and sandboxPhase(): NOTREADY is 'created' until the sandbox ran", () => {
  assert.equal(containerPhase(ContainerState.CONTAINER_CREATED), "created");
  assert.equal(containerPhase(ContainerState.CONTAINER_RUNNING), "running");
  assert.equal(containerPhase(ContainerState.CONTAINER_EXITED), "exited");
  assert.equal(containerPhase(ContainerState.CONTAINER_UNKNOWN), undefined);
  assert.equal(sandboxPhase(PodSandboxState.SANDBOX_NOTREADY, undefined), "created");
  assert.equal(sandboxPhase(PodSandboxState.SANDBOX_NOTREADY, "created"), "created");
  assert.equal(sandboxPhase(PodSandboxState.SANDBOX_READY, "created"), "running");
  assert.equal(sandboxPhase(PodSandboxState.SANDBOX_NOTREADY, "running"), "exited");
  assert.equal(sandboxPhase(PodSandboxState.SANDBOX_NOTREADY, "exited"), "exited");
  assert.equal(sandboxPhase(PodSandboxState.SANDBOX_READY, "exited"), "running");
});

Deno.test("eventsOf(): a sandbox is created and started before its containers' events, stopped and deleted after", () => {
  // A full read after a reconnect that missed a whole pod's life, and another pod's start.
  const events = eventsOf([
    { kind: "sandbox", id: "s1", sandboxId: "s1", before: "running", after: undefined },
    { kind: "sandbox", id: "s2", sandboxId: "s2", before: undefined, after: "running" },
    { kind: "container", id: "c1", sandboxId: "s1", before: "running", after: undefined },
    { kind: "container", id: "c2", sandboxId: "s2", before: undefined, after: "exited" },
  ]);
  assert.deepEqual(events.map((e) => `${e.id}:${ContainerEventType[e.type]}`), [
    "s2:CONTAINER_CREATED_EVENT",
    "s2:CONTAINER_STARTED_EVENT",
    "c1:CONTAINER_STOPPED_EVENT",
    "c1:CONTAINER_DELETED_EVENT",
    "c2:CONTAINER_CREATED_EVENT",
    "c2:CONTAINER_STARTED_EVENT",
    "c2:CONTAINER_STOPPED_EVENT",
    "s1:CONTAINER_STOPPED_EVENT",
    "s1:CONTAINER_DELETED_EVENT",
  ]);
  assert.deepEqual(events[2], { kind: "container", id: "c1", sandboxId: "s1", type: X });
  assert.deepEqual(eventsOf([{ kind: "container", id: "c", sandboxId: "s", before: "exited", after: "exited" }]), []);
});

Deno.test("eventTime(): the status's time of the transition, else when it was seen", () => {
  const times = { createdAt: 10n, startedAt: 20n, finishedAt: 30n };
  assert.equal(eventTime(C, times, 99n), 10n);
  assert.equal(eventTime(S, times, 99n), 20n);
  assert.equal(eventTime(X, times, 99n), 30n);
  assert.equal(eventTime(D, times, 99n), 99n, "a removal: when it was seen");
  assert.equal(eventTime(X, { ...times, finishedAt: 0n }, 99n), 99n, "zero: unknown");
  assert.equal(eventTime(S, undefined, 99n), 99n, "no status (gone)");
});

Deno.test("sandboxStatusFromItem(): the list item's identity; NOTREADY once gone", () => {
  const item = {
    id: "s1",
    metadata: { name: "web", namespace: "default", uid: "web-uid", attempt: 0 },
    state: PodSandboxState.SANDBOX_READY,
    createdAt: 5n,
    labels: { app: "web" },
    annotations: { a: "b" },
    runtimeHandler: "",
  };
  assert.deepEqual(sandboxStatusFromItem(item, true), { ...item, state: PodSandboxState.SANDBOX_NOTREADY });
  assert.equal(sandboxStatusFromItem(item, false).state, PodSandboxState.SANDBOX_READY);
});
