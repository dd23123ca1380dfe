/**
 * A process table for unit tests of the stats collector: what `/proc` would say of a few processes, no I/O.
 * @module
 */
import type { ProcSource } from "../src/cri/stats/collector.ts";
import type { NetDevCounters, ProcMemory, ProcSnapshot, ProcStat } from "../src/host/proc_stats.ts";

/** One fake process; omitted counters are zero. */
export interface FakeProcess {
  pid: number;
  ppid: number;
  comm?: string;
  argv?: string[];
  state?: string;
  cpuTicks?: number;
  anonBytes?: number;
  fileBytes?: number;
  minorFaults?: number;
  majorFaults?: number;
  threads?: number;
  startTicks?: number;
  /** Network namespace (`net:[…]`); default the host's. */
  netns?: string;
  netDev?: NetDevCounters[];
}

/** The host's network namespace in the fake. */
export const HOST_NETNS = "net:[4026531840]";

/** A mutable fake process table. */
export class FakeProc implements ProcSource {
  readonly processes = new Map<number, FakeProcess>();
  /** Scans made so far. */
  scans = 0;
  /** Milliseconds since the epoch the next scan reports (default: the clock). */
  nowMs: number | undefined;

  /** Adds or replaces processes. */
  add(...ps: FakeProcess[]): this {
    for (const p of ps) this.processes.set(p.pid, p);
    return this;
  }

  /** A container's conmon (pid `conmonPid`) and its processes, each a child of the previous unless `ppid` says. */
  addContainer(id: string, conmonPid: number, children: Omit<FakeProcess, "ppid">[], ppid?: number): this {
    this.add({ pid: conmonPid, ppid: 1, comm: "conmon", argv: ["/usr/bin/conmon", "--api-version", "1", "-c", id] });
    let parent = ppid ?? conmonPid;
    for (const c of children) {
      this.add({ ...c, ppid: parent });
      parent = c.pid;
    }
    return this;
  }

  scan(): ProcSnapshot {
    this.scans++;
    const processes = new Map<number, ProcStat>();
    for (const p of this.processes.values()) {
      processes.set(p.pid, {
        pid: p.pid,
        ppid: p.ppid,
        comm: p.comm ?? "sh",
        state: p.state ?? "S",
        cpuTicks: BigInt(p.cpuTicks ?? 0),
        minorFaults: BigInt(p.minorFaults ?? 0),
        majorFaults: BigInt(p.majorFaults ?? 0),
        threads: p.threads ?? 1,
        startTicks: BigInt(p.startTicks ?? 100),
      });
    }
    return { takenAtNs: BigInt(this.nowMs ?? Date.now()) * 1_000_000n, processes };
  }

  memory(pid: number): ProcMemory {
    const p = this.processes.get(pid);
    return { anon: BigInt(p?.anonBytes ?? 0), file: BigInt(p?.fileBytes ?? 0), shmem: 0n };
  }

  argv(pid: number): string[] {
    return this.processes.get(pid)?.argv ?? [];
  }

  netDev(pid: number): NetDevCounters[] | undefined {
    return this.processes.get(pid)?.netDev;
  }

  netNamespace(pid: number | "self"): string | undefined {
    return pid === "self" ? HOST_NETNS : this.processes.get(pid)?.netns ?? HOST_NETNS;
  }

  bootTimeSeconds(): number {
    return 1_700_000_000;
  }
}
