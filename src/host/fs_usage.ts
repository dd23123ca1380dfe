/**
 * Bytes and inodes used under a directory tree (Podman's graph root, for ImageFsInfo), measured by walking it and
 * cached: kubelet asks every few seconds and a walk of a large store takes a while.
 * @module
 */
import { lstat, readdir } from "node:fs/promises";

/** What a walk found. */
export interface FsUsage {
  /** Allocated bytes (st_blocks × 512), hard links counted once. */
  usedBytes: bigint;
  /** Distinct inodes. */
  inodesUsed: bigint;
  /** Directories that could not be read (e.g. owned by another subordinate uid), not descended into. */
  unreadableDirs: number;
  /** When the walk finished (ms since the epoch). */
  timestampMs: number;
}

/** Walks `root` and sums usage; unreadable directories count as one inode each and are skipped. */
export async function measureTree(root: string): Promise<FsUsage> {
  const seen = new Set<string>();
  let usedBytes = 0n;
  let unreadableDirs = 0;
  const pending: string[] = [root];
  const rootStat = await lstat(root, { bigint: true });
  seen.add(`${rootStat.dev}:${rootStat.ino}`);
  usedBytes += rootStat.blocks * 512n;
  while (pending.length > 0) {
    const batch = pending.splice(0, 32);
    await Promise.all(batch.map(async (dir) => {
      let names: string[];
      try {
        names = await readdir(dir);
      } catch {
        unreadableDirs++;
        return;
      }
      for (const name of names) {
        const path = `${dir}/${name}`;
        let st;
        try {
          st = await lstat(path, { bigint: true });
        } catch {
          continue; // removed while we walked
        }
        const key = `${st.dev}:${st.ino}`;
        if (seen.has(key)) continue;
        seen.add(key);
        usedBytes += st.blocks * 512n;
        if (st.isDirectory()) pending.push(path);
      }
    }));
  }
  return { usedBytes, inodesUsed: BigInt(seen.size), unreadableDirs, timestampMs: Date.now() };
}

/** Caches {@link measureTree} per path; a stale answer is served while one refresh runs in the background. */
export class FsUsageProbe {
  readonly #maxAgeMs: number;
  readonly #entries = new Map<string, { value?: FsUsage; running?: Promise<FsUsage> }>();

  /** Creates a probe whose answers are at most `maxAgeMs` old, except while a refresh runs. */
  constructor(maxAgeMs = 10_000) {
    this.#maxAgeMs = maxAgeMs;
  }

  /** Returns the usage of `root`, walking it when no fresh enough answer is cached. */
  async usage(root: string): Promise<FsUsage> {
    const entry = this.#entries.get(root) ?? {};
    this.#entries.set(root, entry);
    const fresh = entry.value && Date.now() - entry.value.timestampMs < this.#maxAgeMs;
    if (fresh) return entry.value!;
    if (!entry.running) {
      entry.running = measureTree(root).then((value) => {
        entry.value = value;
        return value;
      }).finally(() => {
        delete entry.running;
      });
      entry.running.catch(() => {}); // a failed background refresh must not crash the process
    }
    return entry.value ?? await entry.running;
  }
}
