/**
 * GetContainerEvents' lifecycle, pure: which CRI container events a change of a sandbox's or container's state
 * stands for, in which order, and the sandbox status an event carries once its pod is gone. No I/O.
 *
 * A sandbox counts as a container here, as containerd and CRI-O count it: RunPodSandbox, StopPodSandbox and
 * RemovePodSandbox send CREATED, STARTED, STOPPED and DELETED with the sandbox ID as `container_id`.
 * @module
 */
import { ContainerEventType, ContainerState, PodSandboxState } from "../gen/runtime/v1/api_pb.ts";
import type { CriContainer, CriContainerStatus } from "./container.ts";
import type { CriPodSandbox, CriPodSandboxStatus } from "./sandbox.ts";

/** Where an object is in its one-way lifecycle; absent (`undefined`) before creation and after removal. */
export type Phase = "created" | "running" | "exited";

/** Which kind of object changed. */
export type ObjectKind = "sandbox" | "container";

/** One object's change of phase, as the List cache saw it. */
export interface PhaseChange {
  kind: ObjectKind;
  id: string;
  /** The sandbox the object belongs to (its own ID for a sandbox). */
  sandboxId: string;
  before: Phase | undefined;
  after: Phase | undefined;
}

/** One event to send: what happened to which object. */
export interface LifecycleEvent {
  kind: ObjectKind;
  id: string;
  sandboxId: string;
  type: ContainerEventType;
}

/** The phase of a container's CRI state; `undefined` for UNKNOWN, which says nothing about the lifecycle. */
export function containerPhase(state: ContainerState | undefined): Phase | undefined {
  switch (state) {
    case ContainerState.CONTAINER_CREATED:
      return "created";
    case ContainerState.CONTAINER_RUNNING:
      return "running";
    case ContainerState.CONTAINER_EXITED:
      return "exited";
    default:
      return undefined;
  }
}

/**
 * The phase of a sandbox's CRI state. NOTREADY is both "created, never started" and "stopped": it is "exited" once
 * the sandbox has run (its previous phase says so), else "created".
 */
export function sandboxPhase(state: PodSandboxState | undefined, previous: Phase | undefined): Phase {
  if (state === PodSandboxState.SANDBOX_READY) return "running";
  return previous === "running" || previous === "exited" ? "exited" : "created";
}

const { CONTAINER_CREATED_EVENT, CONTAINER_STARTED_EVENT, CONTAINER_STOPPED_EVENT, CONTAINER_DELETED_EVENT } =
  ContainerEventType;

/**
 * The events a change of phase stands for, in order. A change that jumped over phases (seen only by the full read
 * after the event stream came back) yields the events of every phase it skipped: created → exited is STARTED then
 * STOPPED; a running object that disappeared is STOPPED then DELETED. An exited object seen running again (a pod
 * restarted with the podman CLI) is STARTED. Nothing else is an event: no change, or a step backwards to "created".
 */
export function lifecycleEvents(before: Phase | undefined, after: Phase | undefined): ContainerEventType[] {
  if (before === after) return [];
  if (after === undefined) {
    return before === "running" ? [CONTAINER_STOPPED_EVENT, CONTAINER_DELETED_EVENT] : [CONTAINER_DELETED_EVENT];
  }
  const out: ContainerEventType[] = before === undefined ? [CONTAINER_CREATED_EVENT] : [];
  if (after === "running") {
    out.push(CONTAINER_STARTED_EVENT);
  } else if (after === "exited") {
    // An exited object that was never seen running ran in between (or failed to: kubelet reads the status).
    if (before !== "running") out.push(CONTAINER_STARTED_EVENT);
    out.push(CONTAINER_STOPPED_EVENT);
  }
  return out;
}

/**
 * The events of a batch of changes (one refresh, or the whole diff of a full read), ordered as kubelet sees them
 * from containerd: a sandbox is created and started before its containers' events, and stopped and deleted after
 * them. Each object's own events keep their order.
 */
export function eventsOf(changes: readonly PhaseChange[]): LifecycleEvent[] {
  const first: LifecycleEvent[] = [];
  const middle: LifecycleEvent[] = [];
  const last: LifecycleEvent[] = [];
  for (const change of changes) {
    for (const type of lifecycleEvents(change.before, change.after)) {
      const event = { kind: change.kind, id: change.id, sandboxId: change.sandboxId, type };
      if (change.kind === "container") middle.push(event);
      else if (type === CONTAINER_CREATED_EVENT || type === CONTAINER_STARTED_EVENT) first.push(event);
      else last.push(event);
    }
  }
  return [...first, ...middle, ...last];
}

/**
 * A sandbox's status from the last list item the cache had, for an event whose sandbox could not be read: its pod
 * is gone (`gone`: NOTREADY, as it is no more) or Podman did not answer. No IP. kubelet drops an event without a
 * sandbox status (it finds the pod by the status's metadata), so a DELETED event needs one.
 */
export function sandboxStatusFromItem(item: CriPodSandbox, gone: boolean): CriPodSandboxStatus {
  return {
    id: item.id ?? "",
    ...(item.metadata ? { metadata: item.metadata } : {}),
    state: gone ? PodSandboxState.SANDBOX_NOTREADY : (item.state ?? PodSandboxState.SANDBOX_NOTREADY),
    createdAt: item.createdAt ?? 0n,
    labels: { ...item.labels },
    annotations: { ...item.annotations },
    runtimeHandler: item.runtimeHandler ?? "",
  };
}

/**
 * A container's status from the last list item the cache had, for an event whose container was removed before its
 * statuses were read (a STOPPED followed at once by a removal): the event still carries its own container, in the
 * state the event tells of. Times other than creation are unknown (0).
 */
export function containerStatusFromItem(item: CriContainer, type: ContainerEventType): CriContainerStatus {
  const state = type === CONTAINER_STOPPED_EVENT
    ? ContainerState.CONTAINER_EXITED
    : type === CONTAINER_STARTED_EVENT
    ? ContainerState.CONTAINER_RUNNING
    : (item.state ?? ContainerState.CONTAINER_UNKNOWN);
  return {
    id: item.id ?? "",
    ...(item.metadata ? { metadata: item.metadata } : {}),
    state,
    createdAt: item.createdAt ?? 0n,
    ...(item.image ? { image: item.image } : {}),
    imageRef: item.imageRef ?? "",
    labels: { ...item.labels },
    annotations: { ...item.annotations },
  };
}

/** An object's lifecycle times (ns since the epoch; 0 = unknown), as its status tells them. */
export interface LifecycleTimes {
  createdAt?: bigint | undefined;
  startedAt?: bigint | undefined;
  finishedAt?: bigint | undefined;
}

/**
 * When the transition an event tells of happened: the object's creation, start or finish time from its status;
 * `observedAt` (when cri-podman saw the change) for a removal, or when the status has no such time (it was read after
 * the object was gone).
 */
export function eventTime(type: ContainerEventType, times: LifecycleTimes | undefined, observedAt: bigint): bigint {
  const t = type === CONTAINER_CREATED_EVENT
    ? times?.createdAt
    : type === CONTAINER_STARTED_EVENT
    ? times?.startedAt
    : type === CONTAINER_STOPPED_EVENT
    ? times?.finishedAt
    : undefined;
  return t !== undefined && t > 0n ? t : observedAt;
}
