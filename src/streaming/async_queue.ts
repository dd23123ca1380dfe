/**
 * A hand-over from event callbacks to one async reader, for both transports: each SPDY stream's bytes, a WebSocket
 * channel's bytes (stdin, a forwarded connection), terminal sizes, a SPDY session's incoming streams and a
 * port-forward's connections. When the
 * reader falls behind, the queue either asks its owner to stop reading the socket (`onPressure`, so the client is held
 * back by TCP, as kubelet's read loop is held by its `io.Pipe`) or, for sizes, where only the latest matters, forgets
 * the oldest. `highWater: Infinity` makes it unbounded (what a session queues is bounded by its own limits).
 * @module
 */

/** How an `AsyncQueue` weighs and bounds what it holds. */
export interface AsyncQueueOptions<T> {
  /** The weight of an item (bytes for data); 1 when absent. */
  weigh?: (item: T) => number;
  /** The weight the queue may hold before it signals pressure (or drops the oldest items). */
  highWater: number;
  /** Told `true` when the queue holds more than `highWater`, `false` once the reader drained it to half of that. */
  onPressure?: (over: boolean) => void;
  /** Drop the oldest items above `highWater` instead of signalling pressure. */
  dropOldest?: boolean;
}

/** A single-reader async queue with a bound (see the module documentation). */
export class AsyncQueue<T> implements AsyncIterable<T> {
  readonly #items: T[] = [];
  readonly #weigh: (item: T) => number;
  readonly #highWater: number;
  readonly #onPressure: ((over: boolean) => void) | undefined;
  readonly #dropOldest: boolean;
  #weight = 0;
  #ended = false;
  #pressure = false;
  #iterated = false;
  #wake: ((result: IteratorResult<T>) => void) | undefined;

  /** A queue bounded by `options`. */
  constructor(options: AsyncQueueOptions<T>) {
    this.#weigh = options.weigh ?? (() => 1);
    this.#highWater = options.highWater;
    this.#onPressure = options.onPressure;
    this.#dropOldest = options.dropOldest ?? false;
  }

  /** What the queue holds, by weight. */
  get weight(): number {
    return this.#weight;
  }

  /** True once `end()` or `discard()` was called: nothing more will be queued. */
  get ended(): boolean {
    return this.#ended;
  }

  /** Hands `item` to the reader (or queues it); returns false, dropping it, once the queue has ended. */
  push(item: T): boolean {
    if (this.#ended) return false;
    if (this.#wake) {
      const wake = this.#wake;
      this.#wake = undefined;
      wake({ value: item, done: false });
      return true;
    }
    this.#items.push(item);
    this.#weight += this.#weigh(item);
    if (this.#weight > this.#highWater) {
      if (this.#dropOldest) {
        while (this.#weight > this.#highWater && this.#items.length > 1) {
          this.#weight -= this.#weigh(this.#items.shift()!);
        }
      } else this.#setPressure(true);
    }
    return true;
  }

  /** Ends the queue: the reader gets what is queued, then the end. */
  end(): void {
    this.#ended = true;
    if (this.#items.length === 0) this.#finishReader();
  }

  /** Ends the queue and forgets what it holds: the reader gets the end now. */
  discard(): void {
    this.#ended = true;
    this.#items.length = 0;
    this.#weight = 0;
    this.#setPressure(false);
    this.#finishReader();
  }

  /** Takes the items not yet read (to clean them up after the end), leaving the queue empty. */
  drain(): T[] {
    const items = this.#items.splice(0);
    this.#weight = 0;
    this.#setPressure(false);
    return items;
  }

  /**
   * The one reader's iterator, itself iterable (so a reader may take a few items with `next()` and loop over the
   * rest); leaving a loop early discards the queue.
   */
  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    if (this.#iterated) throw new Error("this stream has one reader and is already being read");
    this.#iterated = true;
    const iterator: AsyncIterableIterator<T> = {
      next: () => this.#next(),
      return: () => {
        this.discard();
        return Promise.resolve({ value: undefined, done: true });
      },
      [Symbol.asyncIterator]: () => iterator,
    };
    return iterator;
  }

  #next(): Promise<IteratorResult<T>> {
    if (this.#items.length > 0) {
      const item = this.#items.shift()!;
      this.#weight -= this.#weigh(item);
      if (this.#pressure && this.#weight <= this.#highWater / 2) this.#setPressure(false);
      return Promise.resolve({ value: item, done: false });
    }
    if (this.#ended) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => this.#wake = resolve);
  }

  #finishReader(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.({ value: undefined, done: true });
  }

  #setPressure(over: boolean): void {
    if (this.#pressure === over) return;
    this.#pressure = over;
    this.#onPressure?.(over);
  }
}
