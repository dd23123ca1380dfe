/**
 * A single-consumer queue that is also an async iterable: the session hands out incoming streams with it, and the
 * port-forward builder its connections.
 * @module
 */

/** A queue of items for one consumer, ending when {@link AsyncQueue.end} is called. */
export class AsyncQueue<T> implements AsyncIterableIterator<T> {
  #items: T[] = [];
  #waiter: ((result: IteratorResult<T>) => void) | undefined;
  #ended = false;

  /** Adds an item; returns false (and drops it) once the queue has ended. */
  push(item: T): boolean {
    if (this.#ended) return false;
    const waiter = this.#waiter;
    if (waiter) {
      this.#waiter = undefined;
      waiter({ value: item, done: false });
    } else this.#items.push(item);
    return true;
  }

  /** Ends the queue: the consumer gets the items still queued, then the end. */
  end(): void {
    this.#ended = true;
    const waiter = this.#waiter;
    this.#waiter = undefined;
    waiter?.({ value: undefined, done: true });
  }

  /** Tells whether {@link AsyncQueue.end} was called. */
  get ended(): boolean {
    return this.#ended;
  }

  /** Items queued and not yet consumed. */
  get size(): number {
    return this.#items.length;
  }

  /** Drops the oldest queued item, if any. */
  dropOldest(): void {
    this.#items.shift();
  }

  /** Takes the items not yet consumed (for clean-up after the end), leaving the queue empty. */
  drain(): T[] {
    const items = this.#items;
    this.#items = [];
    return items;
  }

  /** The next item, or the end. */
  next(): Promise<IteratorResult<T>> {
    if (this.#items.length > 0) return Promise.resolve({ value: this.#items.shift()!, done: false });
    if (this.#ended) return Promise.resolve({ value: undefined, done: true });
    if (this.#waiter) return Promise.reject(new Error("AsyncQueue has a single consumer"));
    return new Promise((resolve) => this.#waiter = resolve);
  }

  /** Stops consuming: the queue ends. */
  return(): Promise<IteratorResult<T>> {
    this.end();
    return Promise.resolve({ value: undefined, done: true });
  }

  /** The queue is its own iterator. */
  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this;
  }
}
