/**
 * What a pull in flight tells while it runs: a log line every few seconds with the bytes downloaded so far, and the
 * "pulls in flight" metrics fed by the same count. PullImage owns the start and end lines; this owns the middle.
 * @module
 */
import type { TrackedPull } from "../host/pull_blobs.ts";
import type { Logger } from "../observability/log.ts";
import { type Metrics, noMetrics } from "../observability/metrics.ts";

/** Options of {@link watchPull}. */
export interface PullWatchOptions {
  /** The reference being pulled, for the log. */
  image: string;
  log: Logger;
  metrics?: Metrics | undefined;
  /** Where the bytes so far come from; without it the progress lines say only how long the pull has run. */
  bytes?: TrackedPull | undefined;
  /** How often the bytes are read for the metrics (default 250 ms: a local pull downloads in about a second). */
  pollMs?: number;
  /** How often a progress line is logged (default 5 000 ms); the first comes after this long. */
  logEveryMs?: number;
}

/** A watched pull. */
export interface WatchedPull {
  /** Stops watching: one last read of the bytes, which it returns. Idempotent. */
  stop(): Promise<number>;
}

/** Default interval of progress lines: often enough to see a long pull move, rarely enough to keep the log calm. */
export const PULL_LOG_EVERY_MS = 5_000;

/** Starts watching a pull that begins now. */
export function watchPull(opts: PullWatchOptions): WatchedPull {
  const started = performance.now();
  const inFlight = (opts.metrics ?? noMetrics).pullStarted();
  const logEveryMs = opts.logEveryMs ?? PULL_LOG_EVERY_MS;
  let lastLogMs = started;
  let bytes = 0;
  let reading: Promise<void> | undefined;
  let stopped: Promise<number> | undefined;
  const read = () =>
    reading ??= (async () => {
      try {
        if (opts.bytes) bytes = await opts.bytes.bytes();
        inFlight.progress(bytes);
      } catch {
        // A failed read keeps the last count; the next tick tries again.
      } finally {
        reading = undefined;
      }
    })();
  const timer = setInterval(async () => {
    await read();
    const now = performance.now();
    if (now - lastLogMs < logEveryMs || stopped) return;
    lastLogMs = now;
    opts.log.info("pulling image: progress", {
      image: opts.image,
      ...(opts.bytes ? { bytes } : {}),
      seconds: round((now - started) / 1000),
    });
  }, Math.min(opts.pollMs ?? 250, logEveryMs));
  return {
    stop: () =>
      stopped ??= (async () => {
        clearInterval(timer);
        await reading;
        await read();
        opts.bytes?.release();
        inFlight.done();
        return bytes;
      })(),
  };
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}
