/**
 * Where GetContainerEvents' events come from: the List cache's changes (themselves fed by Podman's event stream, and
 * re-read in full whenever that stream reconnects). Each change moves an object's lifecycle phase; the phase it had
 * before is the one last seen here, so a full read after a reconnect yields exactly the transitions missed — in
 * order, none twice (translate/container_events.ts). The events are then given the sandbox's status and every
 * container status of that sandbox, read from Podman as PodSandboxStatus and ContainerStatus would (non-verbose),
 * and published to the hub one at a time, in order. With no subscriber nothing is read: phases are still tracked,
 * which costs no I/O.
 * @module
 */
import type { MessageInitShape } from "@bufbuild/protobuf";
import { type ContainerEventResponseSchema, ContainerEventType } from "../gen/runtime/v1/api_pb.ts";
import type { Logger } from "../observability/log.ts";
import type { PodmanPort } from "../podman/port.ts";
import type { LibpodContainerInspect } from "../podman/types.ts";
import {
  containerPhase,
  containerStatusFromItem,
  eventsOf,
  eventTime,
  type LifecycleEvent,
  type Phase,
  type PhaseChange,
  sandboxPhase,
  sandboxStatusFromItem,
} from "../translate/container_events.ts";
import {
  type CriContainer,
  type CriContainerStatus,
  readStoredContainer,
  toCriContainerStatus,
} from "../translate/container.ts";
import {
  type CriPodSandbox,
  type CriPodSandboxStatus,
  readStoredSandbox,
  toCriSandboxStatus,
} from "../translate/sandbox.ts";
import { rfc3339ToNanos } from "../translate/time.ts";
import type { ContainerEventHub } from "./container_events.ts";
import type { CacheChange, RuntimeCache } from "./runtime_cache.ts";

/** One GetContainerEvents message. */
export type ContainerEventMessage = MessageInitShape<typeof ContainerEventResponseSchema>;

/** An event waiting for its statuses. */
interface Pending extends LifecycleEvent {
  /** When the change was seen (ns since the epoch). */
  observedAt: bigint;
  /** The sandbox's last list item, for when its pod cannot be read any more. */
  lastSandbox: CriPodSandbox | undefined;
  /** The container's last list item (container events), for when it is gone by the time statuses are read. */
  lastContainer: CriContainer | undefined;
}

/** A sandbox's pod as read for one group of events. */
interface SandboxTree {
  /** undefined: the pod is gone (or not ours), or Podman did not answer. */
  sandbox: CriPodSandboxStatus | undefined;
  infra: LibpodContainerInspect | undefined;
  containers: CriContainerStatus[];
  /** Whether the pod was found gone (not a failed read). */
  gone: boolean;
}

/** What a {@link ContainerEventSource} needs. */
export interface ContainerEventSourceOptions {
  cache: Pick<RuntimeCache, "onChanges">;
  podman: PodmanPort;
  hub: ContainerEventHub<ContainerEventMessage>;
  /** The pods' network (pods.network), whose address PodSandboxStatus reports. */
  networkName: string;
  log: Logger;
  /** The clock, in ns since the epoch (tests). */
  now?: () => bigint;
}

/** Turns the cache's changes into published lifecycle events. */
export class ContainerEventSource {
  readonly #opts: ContainerEventSourceOptions;
  readonly #now: () => bigint;
  /** The phase each object was last seen in, by `kind:id`. */
  readonly #phases = new Map<string, Phase>();
  /** Each sandbox's last list item, while it exists. */
  readonly #sandboxes = new Map<string, CriPodSandbox>();
  /** Each container's last list item, while it exists. */
  readonly #containers = new Map<string, CriContainer>();
  readonly #stop = new AbortController();
  #pending: Pending[] = [];
  #working: Promise<void> | undefined;
  #unlisten: (() => void) | undefined;
  /** Until the first full read, changes only set phases: the objects that existed before start are no news. */
  #seeded = false;

  /** Prepares a source; {@link start} it before the cache's first full read. */
  constructor(opts: ContainerEventSourceOptions) {
    this.#opts = opts;
    this.#now = opts.now ?? (() => BigInt(Date.now()) * 1_000_000n);
  }

  /** Starts listening to the cache. */
  start(): this {
    this.#unlisten ??= this.#opts.cache.onChanges((changes, resync) => this.#onChanges(changes, resync));
    return this;
  }

  /** Stops listening, drops what was not published yet and waits for the read under way. */
  async stop(): Promise<void> {
    this.#unlisten?.();
    this.#stop.abort();
    this.#pending = [];
    await this.#working;
  }

  /** Resolves once every event so far has been published (or dropped for want of subscribers). */
  async idle(): Promise<void> {
    while (this.#working) await this.#working;
  }

  #onChanges(changes: CacheChange[], resync: boolean): void {
    const phaseChanges: PhaseChange[] = [];
    for (const change of changes) phaseChanges.push(this.#track(change));
    if (!this.#seeded) {
      this.#seeded = resync;
      return;
    }
    if (this.#opts.hub.subscribers === 0 || this.#stop.signal.aborted) return;
    const observedAt = this.#now();
    for (const event of eventsOf(phaseChanges)) {
      this.#pending.push({
        ...event,
        observedAt,
        lastSandbox: this.#lastSandbox(event.sandboxId, changes),
        lastContainer: event.kind === "container" ? this.#lastContainer(event.id, changes) : undefined,
      });
    }
    if (this.#pending.length > 0) this.#working ??= this.#work().finally(() => this.#working = undefined);
  }

  /** Records the change's new phase and returns the move from the previous one. */
  #track(change: CacheChange): PhaseChange {
    const key = `${change.kind}:${change.id}`;
    const before = this.#phases.get(key);
    let after: Phase | undefined;
    let sandboxId: string;
    if (change.kind === "sandbox") {
      sandboxId = change.id;
      after = change.after ? sandboxPhase(change.after.state, before) : undefined;
      if (change.after) this.#sandboxes.set(change.id, change.after);
      else this.#sandboxes.delete(change.id);
    } else {
      sandboxId = change.after?.podSandboxId ?? change.before?.podSandboxId ?? "";
      // UNKNOWN (a container Podman is removing) says nothing: it keeps the phase it had.
      after = change.after ? (containerPhase(change.after.state) ?? before) : undefined;
      if (change.after) this.#containers.set(change.id, change.after);
      else this.#containers.delete(change.id);
    }
    if (after === undefined) this.#phases.delete(key);
    else this.#phases.set(key, after);
    return { kind: change.kind, id: change.id, sandboxId, before, after };
  }

  /** The sandbox's last list item: the live one, else the one this batch removed. */
  #lastSandbox(sandboxId: string, changes: CacheChange[]): CriPodSandbox | undefined {
    const live = this.#sandboxes.get(sandboxId);
    if (live) return live;
    for (const c of changes) if (c.kind === "sandbox" && c.id === sandboxId && c.before) return c.before;
    return undefined;
  }

  /** The container's last list item: the live one, else the one this batch removed. */
  #lastContainer(id: string, changes: CacheChange[]): CriContainer | undefined {
    const live = this.#containers.get(id);
    if (live) return live;
    for (const c of changes) if (c.kind === "container" && c.id === id && c.before) return c.before;
    return undefined;
  }

  /** Publishes the pending events in order; consecutive events of one sandbox share one read of it. */
  async #work(): Promise<void> {
    while (this.#pending.length > 0 && !this.#stop.signal.aborted) {
      const batch = this.#pending;
      this.#pending = [];
      for (let i = 0; i < batch.length;) {
        const sandboxId = batch[i]!.sandboxId;
        let j = i + 1;
        while (j < batch.length && batch[j]!.sandboxId === sandboxId) j++;
        const tree = await this.#read(sandboxId);
        if (this.#stop.signal.aborted) return;
        for (const event of batch.slice(i, j)) this.#opts.hub.publish(this.#message(event, tree));
        i = j;
      }
    }
  }

  #message(event: Pending, tree: SandboxTree): ContainerEventMessage {
    const sandbox = tree.sandbox ??
      (event.lastSandbox ? sandboxStatusFromItem(event.lastSandbox, tree.gone) : undefined);
    const times = event.kind === "sandbox"
      ? {
        createdAt: sandbox?.createdAt,
        startedAt: rfc3339ToNanos(tree.infra?.State.StartedAt),
        finishedAt: rfc3339ToNanos(tree.infra?.State.FinishedAt),
      }
      : tree.containers.find((c) => c.id === event.id);
    // A container removed before this read still comes with its own status (as last listed), DELETED excepted.
    const containers = event.kind === "container" && event.type !== ContainerEventType.CONTAINER_DELETED_EVENT &&
        event.lastContainer && !tree.containers.some((c) => c.id === event.id)
      ? [...tree.containers, containerStatusFromItem(event.lastContainer, event.type)]
      : tree.containers;
    return {
      containerId: event.id,
      containerEventType: event.type,
      createdAt: eventTime(event.type, times, event.observedAt),
      ...(sandbox ? { podSandboxStatus: sandbox } : {}),
      containersStatuses: containers,
    };
  }

  /** Reads the sandbox's pod, its infra container and every other container in it. */
  async #read(sandboxId: string): Promise<SandboxTree> {
    const { podman, networkName, log } = this.#opts;
    const opts = { signal: this.#stop.signal };
    try {
      const pod = await podman.pods.inspect(sandboxId, opts);
      const stored = pod ? readStoredSandbox(pod.Labels) : undefined;
      if (!pod || !stored) return { sandbox: undefined, infra: undefined, containers: [], gone: true };
      const infraId = pod.InfraContainerID ?? "";
      const members = (pod.Containers ?? []).filter((c) => c.Id !== infraId);
      const [infra, ...inspected] = await Promise.all([
        infraId ? podman.containers.inspect(infraId, opts) : undefined,
        ...members.map((c) => podman.containers.inspect(c.Id, opts)),
      ]);
      const containers: CriContainerStatus[] = [];
      for (const c of inspected) {
        const storedContainer = c ? readStoredContainer(c.Config?.Labels) : undefined;
        if (c && storedContainer) containers.push(toCriContainerStatus(c, storedContainer));
      }
      return { sandbox: toCriSandboxStatus(pod, infra, stored, networkName), infra, containers, gone: false };
    } catch (err) {
      // The event still goes out, with the cache's view of the sandbox: a lost transition costs kubelet a relist.
      if (!this.#stop.signal.aborted) {
        log.warn("GetContainerEvents: cannot read the sandbox for an event", {
          sandboxId,
          error: (err as Error).message,
        });
      }
      return { sandbox: undefined, infra: undefined, containers: [], gone: false };
    }
  }
}
