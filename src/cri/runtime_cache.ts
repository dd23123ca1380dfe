/**
 * The List cache: every sandbox and container of ours as a CRI list item, kept current by Podman's event stream,
 * rebuilt from Podman at start and whenever the stream (re)connects. kubelet relists every second; this answers
 * from memory.
 *
 * Consistency: each update carries the sequence number of the moment its Podman read began, and never replaces an
 * entry written by a read that began later. Mutating handlers refresh what they changed before they return, so a
 * List never shows a state older than the last completed call that changed it (read-your-writes). While the stream
 * is down the cache is not trusted and List asks Podman directly.
 *
 * Statuses (ContainerStatus and PodSandboxStatus without `verbose`) are kept too, computed from the same inspects
 * that refresh a list item (an event's re-read, a handler's refresh), so an event costs no extra Podman call for
 * containers, and one for a sandbox whose status is kept (its infra container). They are filled lazily: a full read (start, reconnect)
 * lists objects without inspecting them and drops every kept status, and the first Status call per object asks
 * Podman once. A list entry written without an inspect (StopContainer's EXITED) drops its status the same way.
 * @module
 */
import type { ContainerState } from "../gen/runtime/v1/api_pb.ts";
import type { Logger } from "../observability/log.ts";
import { type Metrics, noMetrics } from "../observability/metrics.ts";
import type { PodmanPort } from "../podman/port.ts";
import type { LibpodContainerInspect } from "../podman/types.ts";
import { matchId } from "../translate/ids.ts";
import { CONTAINER_FILTER, SANDBOX_FILTER } from "../translate/labels.ts";
import {
  type CriContainer,
  type CriContainerStatus,
  factsFromInspect,
  factsFromList,
  readStoredContainer,
  toCriContainer,
  toCriContainerStatus,
} from "../translate/container.ts";
import {
  type CriPodSandbox,
  type CriPodSandboxStatus,
  podListItemFromInspect,
  readStoredSandbox,
  type StoredSandbox,
  toCriSandboxFromList,
  toCriSandboxStatus,
} from "../translate/sandbox.ts";

interface Entry<T> {
  seq: number;
  value: T | undefined; // undefined: a tombstone (removed)
}

/** A status kept with the sequence number of the read it came from. */
interface Kept<T> {
  seq: number;
  status: T;
}

/** What verbose ContainerStatus adds to the status, from the same inspect. */
export interface ContainerFacts {
  pid: number;
  sandboxId: string;
  podmanName: string;
  podmanStatus: string;
  hostConfig: NonNullable<LibpodContainerInspect["HostConfig"]>;
}

/** What verbose PodSandboxStatus adds to the status, from the same inspects (the pod's and its infra's). */
export interface SandboxFacts {
  podId: string;
  podName: string;
  infraContainerId: string;
  pid: number;
  podState: string;
  hostname: string;
  sharedNamespaces: string[];
  stored: StoredSandbox;
}

/** A status and its facts, as kept. */
export interface ContainerRead {
  status: CriContainerStatus;
  facts: ContainerFacts;
}

/** A sandbox status and its facts, as kept. */
export interface SandboxRead {
  status: CriPodSandboxStatus;
  facts: SandboxFacts;
}

/** A snapshot of every object of ours. */
export interface RuntimeSnapshot {
  sandboxes: CriPodSandbox[];
  containers: CriContainer[];
}

/** One change of what the cache lists: an object appeared, changed or went away (`after` undefined). */
export type CacheChange =
  | { kind: "sandbox"; id: string; before: CriPodSandbox | undefined; after: CriPodSandbox | undefined }
  | { kind: "container"; id: string; before: CriContainer | undefined; after: CriContainer | undefined };

/** Told of the changes of one cache update, in order; `resync` is true for a full read's diff. */
export type CacheChangeListener = (changes: CacheChange[], resync: boolean) => void;

/** Sandboxes and containers by ID, fed by events. */
export class RuntimeCache {
  readonly #podman: PodmanPort;
  readonly #log: Logger;
  readonly #metrics: Pick<Metrics, "listCache">;
  #seq = 0;
  #synced = false;
  /** The sequence number of the latest resync applied: no entry means "absent" for every read that began before. */
  #floor = 0;
  /** Counts lost streams, so that a resync that read across one does not mark the cache synced. */
  #streamLosses = 0;
  readonly #sandboxes = new Map<string, Entry<CriPodSandbox>>();
  readonly #containers = new Map<string, Entry<CriContainer>>();
  readonly #listeners = new Set<CacheChangeListener>();
  /** Changes of the update under way, told to the listeners when it is complete (see #tell). */
  #changes: CacheChange[] = [];
  /** Bumped by every write to the lists (and by losing sync): what {@link memoizeList} compares. */
  #version = 0;
  readonly #memo = new Map<string, { version: number; value: unknown }>();
  /** ContainerStatus answers by container ID, with the sequence number of the read they came from. */
  readonly #containerStatuses = new Map<string, Kept<ContainerRead>>();
  /** PodSandboxStatus answers by sandbox ID. */
  readonly #sandboxStatuses = new Map<string, Kept<SandboxRead>>();
  /** The pods' network, whose address a sandbox status reports (pods.network). */
  readonly #networkName: string;

  /** Creates an empty, unsynced cache. */
  constructor(
    podman: PodmanPort,
    log: Logger,
    metrics: Pick<Metrics, "listCache"> = noMetrics,
    networkName = "cri-podman",
  ) {
    this.#metrics = metrics;
    this.#podman = podman;
    this.#log = log;
    this.#networkName = networkName;
  }

  /** Whether List may answer from memory: the event stream is connected and a full read completed since. */
  get synced(): boolean {
    return this.#synced;
  }

  /** Marks the cache untrusted (the event stream broke). */
  markUnsynced(): void {
    this.#synced = false;
    this.#version++;
    this.#streamLosses++;
  }

  /**
   * Calls `listener` with every change from now on (GetContainerEvents derives lifecycle events from them), after
   * the update that made them; returns the function that stops it.
   */
  onChanges(listener: CacheChangeListener): () => void {
    this.#listeners.add(listener);
    return () => void this.#listeners.delete(listener);
  }

  /** Reads every sandbox and container from Podman into the cache and marks it synced. */
  async resync(signal?: AbortSignal): Promise<void> {
    const seq = ++this.#seq;
    const losses = this.#streamLosses;
    const snapshot = await this.#readAll(signal);
    // Events may have been missed: no kept status can be trusted. Statuses read after this read began stay.
    dropOlder(this.#containerStatuses, seq);
    dropOlder(this.#sandboxStatuses, seq);
    this.#replaceAll("sandbox", this.#sandboxes, snapshot.sandboxes, seq);
    this.#replaceAll("container", this.#containers, snapshot.containers, seq);
    this.#tell(true);
    // The full read deletes what it did not see (tombstones included) instead of keeping a tombstone per ID: the
    // floor stands for them, so a read that began before this one cannot bring an object back.
    this.#floor = Math.max(this.#floor, seq);
    // A stream that broke while we read has dropped events we will never see: stay unsynced (List asks Podman)
    // until the resync of the next connection.
    if (losses === this.#streamLosses) this.#synced = true;
    this.#log.debug("cache resynced", { sandboxes: snapshot.sandboxes.length, containers: snapshot.containers.length });
  }

  /**
   * Reads the status of every sandbox and container whose status is not kept yet (after a resync, which keeps
   * none), `concurrency` inspects at a time, so that Status calls answer from memory from the first one on. Objects
   * that change meanwhile are refreshed by their events as usual (reads are ordered). Resolves with how many it read.
   */
  async warmStatuses(signal?: AbortSignal, concurrency = 4): Promise<number> {
    const work: (() => Promise<unknown>)[] = [];
    for (const id of this.#sandboxes.keys()) {
      if (this.#sandboxes.get(id)?.value && !this.#sandboxStatuses.has(id)) {
        work.push(() => this.refreshSandbox(id, signal, true));
      }
    }
    for (const id of this.#containers.keys()) {
      if (this.#containers.get(id)?.value && !this.#containerStatuses.has(id)) {
        work.push(() => this.refreshContainer(id, signal));
      }
    }
    let next = 0;
    const worker = async () => {
      while (next < work.length && !signal?.aborted) await work[next++]!().catch(() => undefined);
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, work.length) }, worker));
    return work.length;
  }

  /**
   * While synced: what `build` makes of the current lists, made once per state of the lists (kept under `key` until
   * the next write to them). Undefined while unsynced (the lists are then incomplete). List handlers return the
   * same response object for as long as nothing changed, which the gRPC layer then encodes once.
   */
  memoizeList<T>(kind: "sandboxes" | "containers", key: string, build: () => T): T | undefined {
    if (!this.#synced) return undefined;
    this.#metrics.listCache(kind, true);
    const hit = this.#memo.get(key);
    if (hit && hit.version === this.#version) return hit.value as T;
    const value = build();
    this.#memo.set(key, { version: this.#version, value });
    return value;
  }

  /**
   * The full ID of a listed container of ours that `id` (full or unique prefix) names; undefined when none is;
   * "unsynced" while the list cannot tell (the event stream is down or not read yet).
   */
  listedContainerId(id: string): string | undefined | "unsynced" {
    if (!this.#synced) return "unsynced";
    if (!/^[0-9a-f]{1,64}$/.test(id)) return undefined;
    return resolveId(this.#containers, id);
  }

  /** The listed sandboxes right now (only meaningful while synced; see {@link memoizeList}). */
  listedSandboxes(): CriPodSandbox[] {
    return values(this.#sandboxes);
  }

  /** The listed containers right now (only meaningful while synced; see {@link memoizeList}). */
  listedContainers(): CriContainer[] {
    return values(this.#containers);
  }

  /** Every sandbox: from memory when synced, else straight from Podman. */
  async sandboxes(signal?: AbortSignal): Promise<CriPodSandbox[]> {
    this.#metrics.listCache("sandboxes", this.#synced);
    if (this.#synced) return values(this.#sandboxes);
    return (await this.#readAll(signal, { containers: false })).sandboxes;
  }

  /** Every container: from memory when synced, else straight from Podman. */
  async containers(signal?: AbortSignal): Promise<CriContainer[]> {
    this.#metrics.listCache("containers", this.#synced);
    if (this.#synced) return values(this.#containers);
    return (await this.#readAll(signal, { sandboxes: false })).containers;
  }

  /**
   * Re-reads one sandbox from Podman (after a change, or on its event): its pod, and its infra container when its
   * status is kept or `withStatus` asks for it; a few ms. Returns the status when read (undefined: not read, gone,
   * or not ours).
   */
  async refreshSandbox(
    id: string,
    signal?: AbortSignal,
    withStatus = false,
  ): Promise<CriPodSandboxStatus | undefined> {
    return (await this.#readSandbox(id, signal, withStatus))?.status;
  }

  async #readSandbox(
    id: string,
    signal: AbortSignal | undefined,
    withStatus: boolean,
  ): Promise<SandboxRead | undefined> {
    const seq = ++this.#seq;
    const pod = await this.#podman.pods.inspect(id, { signal });
    const stored = pod ? readStoredSandbox(pod.Labels) : undefined;
    // The status needs the infra container too: read only for a status someone asked for (kept, or asked now), so
    // that a lifecycle call's own refresh costs one inspect, as before statuses were kept.
    const wanted = withStatus || this.#sandboxStatuses.has(pod?.Id ?? id);
    const infra = wanted && pod?.InfraContainerID && stored
      ? await this.#podman.containers.inspect(pod.InfraContainerID, { signal })
      : undefined;
    const read: SandboxRead | undefined = pod && stored && wanted
      ? {
        status: toCriSandboxStatus(pod, infra, stored, this.#networkName),
        facts: {
          podId: pod.Id,
          podName: pod.Name,
          infraContainerId: pod.InfraContainerID ?? "",
          pid: infra?.State.Pid ?? 0,
          podState: pod.State,
          hostname: pod.Hostname ?? "",
          sharedNamespaces: pod.SharedNamespaces ?? [],
          stored,
        },
      }
      : undefined;
    if (!pod || !stored || wanted) this.#keep(this.#sandboxStatuses, pod?.Id ?? id, read, seq);
    this.#put(
      "sandbox",
      this.#sandboxes,
      pod?.Id ?? id,
      pod ? toCriSandboxFromList(podListItemFromInspect(pod)) : undefined,
      seq,
    );
    this.#tell();
    return read;
  }

  /**
   * Re-reads one container from Podman (after a change, or on its event): one inspect, a few ms. Returns its status
   * (undefined: gone, or not ours).
   */
  async refreshContainer(id: string, signal?: AbortSignal): Promise<CriContainerStatus | undefined> {
    return (await this.#readContainer(id, signal))?.status;
  }

  async #readContainer(id: string, signal?: AbortSignal): Promise<ContainerRead | undefined> {
    const seq = ++this.#seq;
    const c = await this.#podman.containers.inspect(id, { signal });
    const stored = c ? readStoredContainer(c.Config?.Labels) : undefined;
    const read: ContainerRead | undefined = c && stored
      ? {
        status: toCriContainerStatus(c, stored),
        facts: {
          pid: c.State.Pid,
          sandboxId: stored.sandboxId,
          podmanName: c.Name,
          podmanStatus: c.State.Status,
          hostConfig: c.HostConfig ?? {},
        },
      }
      : undefined;
    this.#keep(this.#containerStatuses, c?.Id ?? id, read, seq);
    this.#put(
      "container",
      this.#containers,
      c?.Id ?? id,
      c && stored ? toCriContainer(factsFromInspect(c), stored) : undefined,
      seq,
    );
    this.#tell();
    return read;
  }

  /**
   * What ContainerStatus answers without `verbose`: from memory when synced and kept, else one inspect (kept for the
   * next call). `id` is a full ID or a unique prefix; undefined when no container of ours has it (names never
   * resolve). While synced the cache lists every container of ours, so an unknown ID costs no Podman call.
   */
  async containerStatus(id: string, signal?: AbortSignal): Promise<CriContainerStatus | undefined> {
    return (await this.containerRead(id, signal))?.status;
  }

  /** The status and the facts verbose ContainerStatus adds, as {@link containerStatus} finds them. */
  async containerRead(id: string, signal?: AbortSignal): Promise<ContainerRead | undefined> {
    if (!/^[0-9a-f]{1,64}$/.test(id)) return undefined;
    if (!this.#synced) return await this.#readContainer(id, signal);
    const full = resolveId(this.#containers, id);
    if (full === undefined) return undefined;
    const kept = this.#containerStatuses.get(full);
    this.#metrics.listCache("containers", kept !== undefined);
    return kept ? kept.status : await this.#readContainer(full, signal);
  }

  /** What PodSandboxStatus answers without `verbose`, as {@link containerStatus} does for containers. */
  async sandboxStatus(id: string, signal?: AbortSignal): Promise<CriPodSandboxStatus | undefined> {
    return (await this.sandboxRead(id, signal))?.status;
  }

  /** The status and the facts verbose PodSandboxStatus adds, as {@link sandboxStatus} finds them. */
  async sandboxRead(id: string, signal?: AbortSignal): Promise<SandboxRead | undefined> {
    if (!/^[0-9a-f]{1,64}$/.test(id)) return undefined;
    if (!this.#synced) return await this.#readSandbox(id, signal, true);
    const full = resolveId(this.#sandboxes, id);
    if (full === undefined) return undefined;
    const kept = this.#sandboxStatuses.get(full);
    this.#metrics.listCache("sandboxes", kept !== undefined);
    return kept ? kept.status : await this.#readSandbox(full, signal, true);
  }

  /**
   * Records a container state a completed call produced (StopContainer → EXITED) without asking Podman: an inspect
   * right after a stop waits for Podman's clean-up to release the container (~50 ms). Events refresh it later.
   */
  setContainerState(id: string, state: ContainerState): void {
    const current = this.#containers.get(id)?.value;
    // The kept status (times, exit code) is not known without an inspect: the next ContainerStatus reads it.
    this.#containerStatuses.delete(id);
    if (current) this.#put("container", this.#containers, id, { ...current, state }, ++this.#seq);
    this.#tell();
  }

  /**
   * Re-reads a sandbox and every cached container in it (after the sandbox was stopped or removed): one inspect
   * each, not a list of every container (~90 ms with 200). A removed sandbox takes its containers with it.
   */
  async refreshSandboxTree(id: string, signal?: AbortSignal): Promise<void> {
    const seq = this.#seq + 1; // the number refreshSandbox() takes next
    await this.refreshSandbox(id, signal);
    const members = [...this.#containers].filter(([, e]) => e.value?.podSandboxId === id).map(([cid]) => cid);
    if (this.#sandboxes.get(id)?.value === undefined) {
      for (const cid of members) {
        this.#keep(this.#containerStatuses, cid, undefined, seq);
        this.#put("container", this.#containers, cid, undefined, seq);
      }
      this.#tell();
      return;
    }
    await Promise.all(members.map((cid) => this.refreshContainer(cid, signal)));
  }

  /** Forgets a container or sandbox at once (it was removed by us). */
  forget(id: string): void {
    const seq = ++this.#seq;
    this.#keep(this.#sandboxStatuses, id, undefined, seq);
    this.#keep(this.#containerStatuses, id, undefined, seq);
    this.#put("sandbox", this.#sandboxes, id, undefined, seq);
    this.#put("container", this.#containers, id, undefined, seq);
    this.#tell();
  }

  async #readAll(
    signal: AbortSignal | undefined,
    what: { sandboxes?: boolean; containers?: boolean } = {},
  ): Promise<RuntimeSnapshot> {
    const [pods, containers] = await Promise.all([
      what.sandboxes === false ? [] : this.#podman.pods.list([...SANDBOX_FILTER], { signal }),
      what.containers === false ? [] : this.#podman.containers.list(CONTAINER_FILTER, { signal }),
    ]);
    const sandboxes: CriPodSandbox[] = [];
    for (const pod of pods) {
      const s = toCriSandboxFromList(pod);
      if (s) sandboxes.push(s);
    }
    const items: CriContainer[] = [];
    for (const c of containers) {
      const stored = readStoredContainer(c.Labels);
      if (stored) items.push(toCriContainer(factsFromList(c), stored));
    }
    return { sandboxes, containers: items };
  }

  #put<K extends CacheChange["kind"]>(
    kind: K,
    map: Map<string, Entry<ValueOf<K>>>,
    id: string,
    value: ValueOf<K> | undefined,
    seq: number,
  ): void {
    const current = map.get(id);
    if (current && current.seq > seq) return; // a later read already wrote this entry
    if (!current && seq < this.#floor) return; // a later full read saw it absent
    map.set(id, { seq, value });
    this.#version++;
    this.#changed(kind, id, current?.value, value);
  }

  /** Keeps (or, for undefined, drops) a status read at `seq`, unless a later read already kept one. */
  #keep<T>(map: Map<string, Kept<T>>, id: string, status: T | undefined, seq: number): void {
    const current = map.get(id);
    if (current && current.seq > seq) return;
    if (status === undefined) map.delete(id);
    else map.set(id, { seq, status });
  }

  #replaceAll<K extends CacheChange["kind"]>(
    kind: K,
    map: Map<string, Entry<ValueOf<K>>>,
    items: ValueOf<K>[],
    seq: number,
  ): void {
    const seen = new Set<string>();
    for (const item of items) {
      seen.add(item.id!);
      this.#put(kind, map, item.id!, item, seq);
    }
    for (const [id, entry] of map) {
      if (!seen.has(id) && entry.seq < seq) {
        map.delete(id);
        this.#version++;
        this.#changed(kind, id, entry.value, undefined);
      } else if (entry.value === undefined && entry.seq < seq) map.delete(id); // old tombstones
    }
  }

  #changed<K extends CacheChange["kind"]>(
    kind: K,
    id: string,
    before: ValueOf<K> | undefined,
    after: ValueOf<K> | undefined,
  ): void {
    if (this.#listeners.size === 0 || (before === undefined && after === undefined)) return;
    this.#changes.push({ kind, id, before, after } as CacheChange);
  }

  /**
   * Tells the listeners the changes of the update that just completed (every full read, even one that changed
   * nothing). Called in the same synchronous run as the
   * writes, so one update's changes (a full read's whole diff) arrive together and in order.
   */
  #tell(resync = false): void {
    // A full read is news even when it changed nothing: it tells a listener the cache is complete.
    if (this.#changes.length === 0 && !resync) return;
    const changes = this.#changes;
    this.#changes = [];
    for (const listener of this.#listeners) {
      try {
        listener(changes, resync);
      } catch (err) {
        this.#log.error("cache change listener threw", { error: (err as Error).message });
      }
    }
  }
}

type ValueOf<K extends CacheChange["kind"]> = K extends "sandbox" ? CriPodSandbox : CriContainer;

function values<T>(map: Map<string, Entry<T>>): T[] {
  const out: T[] = [];
  for (const entry of map.values()) if (entry.value !== undefined) out.push(entry.value);
  return out;
}

/** Drops the statuses kept from reads that began before `seq`. */
function dropOlder<T>(map: Map<string, Kept<T>>, seq: number): void {
  for (const [id, kept] of map) if (kept.seq < seq) map.delete(id);
}

/** The full ID of the one live entry whose ID is `id` or starts with it; undefined for none or several. */
function resolveId<T>(map: Map<string, Entry<T>>, id: string): string | undefined {
  return matchId(liveIds(map), id);
}

function* liveIds<T>(map: Map<string, Entry<T>>): Generator<string> {
  for (const [key, entry] of map) if (entry.value !== undefined) yield key;
}
