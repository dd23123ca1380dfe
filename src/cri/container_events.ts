/**
 * The fan-out of GetContainerEvents: every event published reaches every subscriber, in order, through a bounded
 * queue of its own. A subscriber that falls that far behind is dropped (its stream ends with RESOURCE_EXHAUSTED)
 * instead of making cri-podman hold an ever-growing backlog; kubelet then relists and subscribes again. Knows
 * nothing of where events come from.
 * @module
 */
import { CriError } from "../errors.ts";
import type { Logger } from "../observability/log.ts";

/** How many events a subscriber may have waiting before it is dropped (default of {@link ContainerEventHub}). */
export const DEFAULT_MAX_QUEUED = 1000;

interface Subscriber<T> {
  readonly queue: T[];
  /** Why the stream ends once its queue is drained (dropped or hub closed); undefined while it is open. */
  end: CriError | undefined;
  /** Wakes the subscriber's reader, if it waits. */
  wake: (() => void) | undefined;
}

/** Subscribers, each with a bounded queue, and the publisher's side. */
export class ContainerEventHub<T> {
  readonly #maxQueued: number;
  readonly #log: Logger;
  readonly #subscribers = new Set<Subscriber<T>>();
  #closed: CriError | undefined;

  /** A hub whose subscribers may each have `maxQueued` events waiting (default {@link DEFAULT_MAX_QUEUED}). */
  constructor(opts: { log: Logger; maxQueued?: number }) {
    this.#log = opts.log;
    this.#maxQueued = Math.max(1, opts.maxQueued ?? DEFAULT_MAX_QUEUED);
  }

  /** How many streams are subscribed now: with none, an event need not even be built. */
  get subscribers(): number {
    return this.#subscribers.size;
  }

  /**
   * Subscribes at once (events published from this call on are kept) and returns the stream of them. The stream
   * stays open while nothing happens; it ends quietly when `signal` aborts as a client cancel, and rejects with the
   * signal's reason when that is another classified error (a deadline), with RESOURCE_EXHAUSTED when the subscriber
   * was dropped, and with UNAVAILABLE once the hub is closed. Ending it any way unsubscribes.
   */
  subscribe(signal: AbortSignal): AsyncIterable<T> {
    const sub: Subscriber<T> = { queue: [], end: this.#closed, wake: undefined };
    if (!sub.end) this.#subscribers.add(sub);
    const onAbort = () => {
      this.#subscribers.delete(sub);
      sub.wake?.();
    };
    signal.addEventListener("abort", onAbort, { once: true });
    const subscribers = this.#subscribers;
    return (async function* () {
      try {
        while (true) {
          if (signal.aborted) {
            const reason = signal.reason;
            if (reason instanceof CriError && reason.code !== "Canceled") throw reason;
            return;
          }
          if (sub.queue.length > 0) {
            yield sub.queue.shift()!;
            continue;
          }
          if (sub.end) throw sub.end;
          await new Promise<void>((resolve) => sub.wake = resolve);
          sub.wake = undefined;
        }
      } finally {
        signal.removeEventListener("abort", onAbort);
        subscribers.delete(sub);
        sub.queue.length = 0;
      }
    })();
  }

  /** Queues `event` for every subscriber; one whose queue is full is dropped, with a log line. */
  publish(event: T): void {
    for (const sub of this.#subscribers) {
      if (sub.queue.length >= this.#maxQueued) {
        this.#subscribers.delete(sub);
        sub.queue.length = 0; // what it missed is gone anyway: free it now
        sub.end = new CriError(
          "ResourceExhausted",
          `GetContainerEvents subscriber fell ${this.#maxQueued} events behind and was dropped; relist and subscribe again`,
        );
        this.#log.warn("GetContainerEvents: dropped a subscriber that fell behind", {
          maxQueued: this.#maxQueued,
          subscribers: this.#subscribers.size,
        });
      } else {
        sub.queue.push(event);
      }
      sub.wake?.();
    }
  }

  /**
   * Ends every stream (after what it has queued) with UNAVAILABLE, and answers later subscribers the same: on
   * shutdown, so open streams do not hold the listener's grace.
   */
  close(message = "cri-podman is shutting down"): void {
    this.#closed ??= new CriError("Unavailable", message);
    for (const sub of this.#subscribers) {
      sub.end = this.#closed;
      sub.wake?.();
    }
    this.#subscribers.clear();
  }
}
