/**
 * The calls in flight, for a shutdown that can say what it waits for and cut only what is safe to cut. A call whose
 * Podman request changes a container's lifecycle (a stop, say) is finished rather than cancelled when the shutdown
 * grace runs out: cancelled mid-way, and with the embedded Podman stopped right after, it left the container in
 * Podman's "stopping" state.
 * @module
 */
import { CriError } from "../errors.ts";

/** One call in flight. */
export interface TrackedCall {
  /** The RPC's name (`StopContainer`). */
  readonly rpc: string;
  /** `performance.now()` when it started. */
  readonly started: number;
  /** Aborts the call's context signal, which every Podman request of the call carries. */
  readonly abort: (reason: CriError) => void;
  /** Settles when the handler has returned or thrown. */
  readonly settled: Promise<void>;
}

/** A call as the shutdown log names it. */
export interface CallSummary {
  rpc: string;
  /** How long it has run, in ms. */
  ms: number;
}

/** The calls of one server. */
export class CallTracker {
  readonly #calls = new Set<TrackedCall>();
  #shuttingDown = false;

  /** Whether the shutdown has begun cutting calls: a connection closing then is the shutdown, not the client. */
  get shuttingDown(): boolean {
    return this.#shuttingDown;
  }

  /** Records a call until `settled` settles. */
  track(call: TrackedCall): void {
    this.#calls.add(call);
    call.settled.finally(() => this.#calls.delete(call));
  }

  /** The calls in flight now, longest first. */
  inFlight(now = performance.now()): CallSummary[] {
    return [...this.#calls].map((c) => ({ rpc: c.rpc, ms: Math.round(now - c.started) })).sort((a, b) => b.ms - a.ms);
  }

  /**
   * Begins the end: cancels every call not in `finish` with an UNAVAILABLE "shutting down" reason, and lets those in
   * `finish` run on (their clients are gone, but Podman gets to complete what they asked). Returns what it cut.
   */
  cut(finish: ReadonlySet<string>): CallSummary[] {
    this.#shuttingDown = true;
    const cut: CallSummary[] = [];
    const now = performance.now();
    for (const call of this.#calls) {
      if (finish.has(call.rpc)) continue;
      call.abort(new CriError("Unavailable", `${call.rpc} was cut short: cri-podman is shutting down`));
      cut.push({ rpc: call.rpc, ms: Math.round(now - call.started) });
    }
    return cut;
  }

  /** Cancels every call still in flight (the finishing ones too). */
  cutAll(): void {
    this.#shuttingDown = true;
    for (const call of this.#calls) {
      call.abort(new CriError("Unavailable", `${call.rpc} was cut short: cri-podman is shutting down`));
    }
  }

  /** Resolves true once no call is in flight, or false after `timeoutMs`. */
  async settled(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (this.#calls.size > 0) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        Promise.allSettled([...this.#calls].map((c) => c.settled)),
        new Promise((resolve) => timer = setTimeout(resolve, left)),
      ]);
      clearTimeout(timer);
    }
    return true;
  }
}
