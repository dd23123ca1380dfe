/**
 * Measures the resource usage of containers and pods from their processes in `/proc`, in one pass over the process
 * table per call however many containers are asked for. Rootless Podman on a cgroup v1 host (or cgroup v2 without
 * delegated controllers) has no per-container cgroup and answers its own stats endpoint with an error; the processes
 * are visible all the same, so this works on every host cri-podman runs on.
 *
 * Kept between calls: the previous CPU sample of each container (for the usage rate, and to keep cumulative CPU from
 * going backwards when a process that nobody in the container waited for exits), the container→conmon mapping, and
 * each container's writable-layer directory and each pod's infra container (they never change). All of it is rebuilt by the next call if lost.
 * @module
 */
import { ContainerState, PodSandboxState } from "../../gen/runtime/v1/api_pb.ts";
import type { FsUsageProbe } from "../../host/fs_usage.ts";
import { conmonContainerId, NS_PER_TICK, type ProcReader, type ProcSnapshot } from "../../host/proc_stats.ts";
import type { PodmanPort } from "../../podman/port.ts";
import type { CriContainer } from "../../translate/container.ts";
import { SANDBOX_FILTER } from "../../translate/labels.ts";
import type { CriPodSandbox } from "../../translate/sandbox.ts";
import {
  type ContainerUsage,
  idleUsage,
  type PodNetworkUsage,
  sumUsage,
  type WritableLayerUsage,
} from "../../translate/stats.ts";
import { attributeProcesses } from "./attribution.ts";

/** Where the numbers come from (ContainerStatus's verbose info says it). */
export const STATS_SOURCE = "proc";

/** A pod's usage: its containers', its infra container's, their sum and its network. */
export interface PodUsage {
  /** The infra container's ID ("" when Podman did not say). */
  infraId: string;
  infra: ContainerUsage;
  /** Usage of each of the pod's containers (infra excluded), by container ID. */
  containers: Map<string, ContainerUsage>;
  /** Infra and containers together. */
  total: ContainerUsage;
  /** Undefined for a pod on the host's network, or when its namespace cannot be read. */
  network: PodNetworkUsage | undefined;
}

interface CpuTrack {
  /** Added to the measured sum so that cumulative CPU never decreases. */
  base: bigint;
  lastRaw: bigint;
  /** The sample the next rate is measured from. */
  rateFromCpu: bigint;
  rateFromNs: bigint;
  rate?: bigint;
  seenNs: bigint;
}

/** Samples closer than this give no new rate (the previous one is repeated): ticks are 10 ms coarse. */
const MIN_RATE_WINDOW_NS = 500_000_000n;
/** CPU tracks of containers not asked about for this long are dropped. */
const FORGET_AFTER_NS = 600_000_000_000n;

/** The process table as the collector reads it ({@link ProcReader} on `/proc`; a fake in unit tests). */
export type ProcSource = Pick<ProcReader, "scan" | "memory" | "argv" | "netDev" | "netNamespace" | "bootTimeSeconds">;

/** What the collector reads: the process table, filesystem walks, and Podman (writable layers, infra IDs). */
export interface StatsCollectorDeps {
  proc: ProcSource;
  fsUsage: Pick<FsUsageProbe, "usage">;
  podman: PodmanPort;
}

/** Measures usage; one instance per server (it keeps the previous samples). */
export class StatsCollector {
  readonly #deps: StatsCollectorDeps;
  readonly #cpu = new Map<string, CpuTrack>();
  /** conmon pid → [its start ticks, the container it monitors]: a command line is read once per conmon. */
  readonly #conmons = new Map<number, [bigint, string | undefined]>();
  /** Container ID → writable layer directory (null: none we can measure). */
  readonly #layers = new Map<string, string | null>();
  /** Pod ID → its infra container's ID, and when a call last asked for that pod (ms). */
  readonly #infra = new Map<string, { infraId: string; seenMs: number }>();
  #bootTimeSeconds: number | undefined;
  readonly #selfNetns: string | undefined;

  /** Creates a collector with no previous samples. */
  constructor(deps: StatsCollectorDeps) {
    this.#deps = deps;
    this.#selfNetns = deps.proc.netNamespace("self");
  }

  /**
   * The usage of each container, by ID: measured for running ones, zero for the others (a created container uses
   * nothing yet; one that exits during the scan reads as zero, never as an error).
   */
  async containers(list: readonly CriContainer[], signal?: AbortSignal): Promise<Map<string, ContainerUsage>> {
    const running = new Set(list.filter(isRunning).map((c) => c.id ?? ""));
    const snapshot = this.#deps.proc.scan();
    const measured = this.#measure(snapshot, running);
    const out = new Map<string, ContainerUsage>();
    await Promise.all(list.map(async (c) => {
      const id = c.id ?? "";
      const usage = measured.get(id)?.usage ?? idleUsage(snapshot.takenAtNs);
      usage.writableLayer = await this.#writableLayer(id, signal);
      out.set(id, usage);
    }));
    this.#forgetOld(snapshot.takenAtNs);
    return out;
  }

  /** The usage of each sandbox and its containers (`containers` may hold others' too: they are sorted by pod). */
  async pods(
    sandboxes: readonly CriPodSandbox[],
    containers: readonly CriContainer[],
    signal?: AbortSignal,
  ): Promise<Map<string, PodUsage>> {
    const ids = sandboxes.map((s) => s.id ?? "");
    const infraOf = await this.#infraIds(ids, signal);
    const ofPod = new Map<string, CriContainer[]>(ids.map((id) => [id, []]));
    for (const c of containers) ofPod.get(c.podSandboxId ?? "")?.push(c);
    const wanted = new Set<string>();
    for (const s of sandboxes) {
      const infra = infraOf.get(s.id ?? "");
      if (infra && isReady(s)) wanted.add(infra);
      for (const c of ofPod.get(s.id ?? "") ?? []) if (isRunning(c)) wanted.add(c.id ?? "");
    }
    const snapshot = this.#deps.proc.scan();
    const measured = this.#measure(snapshot, wanted);
    const out = new Map<string, PodUsage>();
    await Promise.all(sandboxes.map(async (s) => {
      const id = s.id ?? "";
      const infraId = infraOf.get(id) ?? "";
      const infraMeasure = measured.get(infraId);
      const infra = infraMeasure?.usage ?? idleUsage(snapshot.takenAtNs);
      const own = new Map<string, ContainerUsage>();
      for (const c of ofPod.get(id) ?? []) {
        const cid = c.id ?? "";
        const usage = measured.get(cid)?.usage ?? idleUsage(snapshot.takenAtNs);
        usage.writableLayer = await this.#writableLayer(cid, signal);
        own.set(cid, usage);
      }
      out.set(id, {
        infraId,
        infra,
        containers: own,
        total: sumUsage([infra, ...own.values()], snapshot.takenAtNs),
        network: infraMeasure ? this.#network(infraMeasure.pids, snapshot) : undefined,
      });
    }));
    this.#forgetOld(snapshot.takenAtNs);
    return out;
  }

  /** The infra container of each pod: asked of Podman once per pod (it never changes), in one call for all. */
  async #infraIds(ids: readonly string[], signal?: AbortSignal): Promise<Map<string, string>> {
    const now = Date.now();
    const missing = ids.filter((id) => !this.#infra.has(id));
    if (missing.length) {
      for (const p of await this.#deps.podman.pods.list(SANDBOX_FILTER, { signal, ids: missing })) {
        if (p.InfraId) this.#infra.set(p.Id, { infraId: p.InfraId, seenMs: now });
      }
    }
    const out = new Map<string, string>();
    for (const id of ids) {
      const known = this.#infra.get(id);
      if (!known) continue;
      known.seenMs = now;
      out.set(id, known.infraId);
    }
    for (const [id, known] of this.#infra) {
      if (now - known.seenMs > Number(FORGET_AFTER_NS / 1_000_000n)) this.#infra.delete(id);
    }
    return out;
  }

  /** Attributes the snapshot's processes to `wanted` containers and sums each one's usage. */
  #measure(
    snapshot: ProcSnapshot,
    wanted: ReadonlySet<string>,
  ): Map<string, { usage: ContainerUsage; pids: number[] }> {
    const out = new Map<string, { usage: ContainerUsage; pids: number[] }>();
    if (wanted.size === 0) return out;
    const conmons = new Map<number, string>();
    const seen = new Set<number>();
    for (const p of snapshot.processes.values()) {
      if (p.comm !== "conmon") continue;
      seen.add(p.pid);
      let known = this.#conmons.get(p.pid);
      if (!known || known[0] !== p.startTicks) {
        known = [p.startTicks, conmonContainerId(this.#deps.proc.argv(p.pid))];
        this.#conmons.set(p.pid, known);
      }
      if (known[1]) conmons.set(p.pid, known[1]);
    }
    for (const pid of this.#conmons.keys()) if (!seen.has(pid)) this.#conmons.delete(pid);
    const boot = this.#bootTimeSeconds ??= this.#deps.proc.bootTimeSeconds();
    for (const [id, pids] of attributeProcesses(snapshot.processes, conmons, wanted)) {
      const usage = idleUsage(snapshot.takenAtNs);
      let raw = 0n;
      let firstStart: bigint | undefined;
      for (const pid of pids) {
        const p = snapshot.processes.get(pid)!;
        raw += p.cpuTicks * NS_PER_TICK;
        usage.pageFaults += p.minorFaults + p.majorFaults;
        usage.majorPageFaults += p.majorFaults;
        usage.threads += p.threads;
        if (p.state === "Z") continue; // a zombie holds no memory and is not running
        usage.processes++;
        if (firstStart === undefined || p.startTicks < firstStart) firstStart = p.startTicks;
        const mem = this.#deps.proc.memory(pid);
        usage.rssBytes += mem.anon;
        usage.usageBytes += mem.anon + mem.file + mem.shmem;
      }
      // No page cache is attributed to processes: all of their resident memory is in use (working set = usage).
      usage.workingSetBytes = usage.usageBytes;
      this.#trackCpu(id, raw, usage);
      if (firstStart !== undefined && boot > 0) usage.startTimeSeconds = boot + Number(firstStart) / 100;
      out.set(id, { usage, pids });
    }
    return out;
  }

  /** Makes cumulative CPU monotonic and derives the rate from the previous sample at least 0.5 s old. */
  #trackCpu(id: string, raw: bigint, usage: ContainerUsage): void {
    const now = usage.timestampNs;
    let t = this.#cpu.get(id);
    if (!t) {
      t = { base: 0n, lastRaw: raw, rateFromCpu: raw, rateFromNs: now, seenNs: now };
      this.#cpu.set(id, t);
    }
    // A process that exited without a waiting parent in the container takes its CPU time with it: keep the total.
    if (raw < t.lastRaw) t.base += t.lastRaw - raw;
    t.lastRaw = raw;
    t.seenNs = now;
    usage.cpuNs = t.base + raw;
    const window = now - t.rateFromNs;
    if (window >= MIN_RATE_WINDOW_NS) {
      t.rate = (usage.cpuNs - t.rateFromCpu) * 1_000_000_000n / window;
      t.rateFromCpu = usage.cpuNs;
      t.rateFromNs = now;
    }
    if (t.rate !== undefined) usage.cpuNanoCores = t.rate;
  }

  /** Counters of the pod's own network namespace, read through one of its infra container's processes. */
  #network(pids: readonly number[], snapshot: ProcSnapshot): PodNetworkUsage | undefined {
    const pid = pids.find((p) => snapshot.processes.get(p)?.state !== "Z");
    if (pid === undefined) return undefined;
    const ns = this.#deps.proc.netNamespace(pid);
    if (!ns || ns === this.#selfNetns) return undefined; // the host's network: not the pod's to report
    const counters = this.#deps.proc.netDev(pid);
    if (!counters) return undefined;
    const interfaces = counters.filter((c) => c.name !== "lo").sort((a, b) => defaultFirst(a.name, b.name));
    return { timestampNs: snapshot.takenAtNs, interfaces };
  }

  /** The writable layer's usage (walks are cached by the probe); undefined without a layer we can measure. */
  async #writableLayer(id: string, signal?: AbortSignal): Promise<WritableLayerUsage | undefined> {
    let dir = this.#layers.get(id);
    if (dir === undefined) {
      const inspect = await this.#deps.podman.containers.inspect(id, { signal }).catch(() => undefined);
      if (!inspect) return undefined; // removed meanwhile: not cached, not an error
      const data = inspect.GraphDriver?.Data ?? {};
      dir = data["UpperDir"] ?? null;
      this.#layers.set(id, dir);
    }
    if (dir === null) return undefined;
    try {
      const usage = await this.#deps.fsUsage.usage(dir);
      return {
        timestampNs: BigInt(usage.timestampMs) * 1_000_000n,
        mountpoint: storageRoot(dir),
        usedBytes: usage.usedBytes,
        inodesUsed: usage.inodesUsed,
      };
    } catch {
      this.#layers.delete(id); // gone with its container
      return undefined;
    }
  }

  #forgetOld(nowNs: bigint): void {
    for (const [id, t] of this.#cpu) {
      if (nowNs - t.seenNs > FORGET_AFTER_NS) {
        this.#cpu.delete(id);
        this.#layers.delete(id);
      }
    }
  }
}

const isRunning = (c: CriContainer) => c.state === ContainerState.CONTAINER_RUNNING;
const isReady = (s: CriPodSandbox) => s.state === PodSandboxState.SANDBOX_READY;

/** eth0 (the pod's default interface) first, then by name. */
function defaultFirst(a: string, b: string): number {
  if (a === "eth0") return -1;
  if (b === "eth0") return 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The storage's graph root of a layer directory (`<root>/overlay/<id>/diff` → `<root>`). */
export function storageRoot(layerDir: string): string {
  const m = /^(.*)\/(?:overlay|vfs|btrfs|zfs)(?:-layers)?\/[^/]+(?:\/diff)?$/.exec(layerDir);
  return m ? m[1]! : layerDir;
}
