/**
 * Where one CRI call spends its time: the dispatcher runs each handler inside a trace, and the edges that wait on
 * something else (every libpod request, host work such as a process scan) add a span to the trace of the call they
 * serve, found through `AsyncLocalStorage`. The trace goes into the call's debug log line, so `--log-level debug`
 * shows, for every call, its libpod requests in order with their milliseconds; `bench/lifecycle.ts` sums them.
 * @module
 */
import { AsyncLocalStorage } from "node:async_hooks";

/** One waited-for step of a call: what it was (`POST containers/{id}/start`) and how long it took. */
export interface Span {
  name: string;
  ms: number;
}

/** The spans of one call, in the order they ended. */
export class CallTrace {
  readonly spans: Span[] = [];

  /** The spans as one short text, `POST pods/create 41.2, POST pods/{id}/start 60.3`, for a log line. */
  summary(): string {
    return this.spans.map((s) => `${s.name} ${s.ms.toFixed(1)}`).join(", ");
  }
}

const current = new AsyncLocalStorage<CallTrace>();

/** Runs `fn` with a fresh trace that every span recorded beneath it joins. */
export function withTrace<T>(trace: CallTrace, fn: () => T): T {
  return current.run(trace, fn);
}

/** Adds a finished span to the trace of the call being served, if any (background work has none). */
export function recordSpan(name: string, ms: number): void {
  current.getStore()?.spans.push({ name, ms });
}

/** Times `fn` as a span named `name` of the current call. */
export async function traced<T>(name: string, fn: () => Promise<T>): Promise<T> {
  const started = performance.now();
  try {
    return await fn();
  } finally {
    recordSpan(name, performance.now() - started);
  }
}
