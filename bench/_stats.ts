/**
 * Latency statistics and table output shared by the benchmark scripts.
 * @module
 */

/** Percentiles of a sample, in ms. */
export interface Summary {
  n: number;
  p50: number;
  p99: number;
  mean: number;
}

/** Summarises durations (ms). */
export function summarize(samples: readonly number[]): Summary {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
  return { n: sorted.length, p50: at(0.5), p99: at(0.99), mean: sorted.reduce((a, b) => a + b, 0) / sorted.length };
}

/** Runs each named operation `rounds × batch` times, interleaving batches so that machine noise hits all alike. */
export async function interleaved(
  ops: Record<string, () => Promise<unknown>>,
  opts: { rounds: number; batch: number; warmup: number },
): Promise<Record<string, Summary>> {
  for (const op of Object.values(ops)) for (let i = 0; i < opts.warmup; i++) await op();
  const samples: Record<string, number[]> = Object.fromEntries(Object.keys(ops).map((k) => [k, []]));
  for (let r = 0; r < opts.rounds; r++) {
    for (const [name, op] of Object.entries(ops)) {
      for (let i = 0; i < opts.batch; i++) {
        const t0 = performance.now();
        await op();
        samples[name]!.push(performance.now() - t0);
      }
    }
  }
  return Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, summarize(v)]));
}

/** Renders summaries as a Markdown table. */
export function table(rows: Record<string, Summary>): string {
  const fmt = (x: number) => x.toFixed(3);
  return [
    "| operation | n | p50 ms | p99 ms | mean ms |",
    "|---|---:|---:|---:|---:|",
    ...Object.entries(rows).map(([k, s]) => `| ${k} | ${s.n} | ${fmt(s.p50)} | ${fmt(s.p99)} | ${fmt(s.mean)} |`),
  ].join("\n");
}

/** Resident set size of a process in MiB, from /proc. */
export function rssMiB(pid: number): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN);
  return kb / 1024;
}
