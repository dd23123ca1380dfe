/**
 * The receive buffer of one SPDY stream: the bytes the peer sent that our consumer has not taken yet, with a high-water
 * mark. The session stops reading the socket while any stream is over its mark, as spdystream's frame workers block on
 * a stream's unbuffered data channel until its reader takes the frame (connection.go handleDataFrame): the peer is
 * held back by TCP, and no side buffers without bound.
 * @module
 */

/** The buffered bytes of one stream, read once as an async iterable that ends at the peer's FIN (or reset). */
export class ByteQueue implements AsyncIterableIterator<Uint8Array> {
  readonly #highWaterMark: number;
  readonly #onRoom: () => void;
  #chunks: Uint8Array[] = [];
  #head = 0;
  #buffered = 0;
  #ended = false;
  #discarding = false;
  #waiter: ((result: IteratorResult<Uint8Array>) => void) | undefined;

  /** `onRoom` is called when the buffered size falls back to the mark or below after having been over it. */
  constructor(highWaterMark: number, onRoom: () => void) {
    this.#highWaterMark = highWaterMark;
    this.#onRoom = onRoom;
  }

  /** Bytes buffered and not yet taken. */
  get buffered(): number {
    return this.#buffered;
  }

  /** Tells whether more is buffered than the mark allows: the session should stop reading. */
  get full(): boolean {
    return this.#buffered > this.#highWaterMark;
  }

  /** Tells whether the end (FIN, reset, or the session's end) was pushed. */
  get ended(): boolean {
    return this.#ended;
  }

  /** Adds bytes from the peer; ignored after the end, or once the consumer went away. */
  push(chunk: Uint8Array): void {
    if (this.#ended || this.#discarding || chunk.length === 0) return;
    const waiter = this.#waiter;
    if (waiter) {
      this.#waiter = undefined;
      waiter({ value: chunk, done: false });
      return;
    }
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
  }

  /** Marks the end of the bytes: the consumer gets what is buffered, then the end. */
  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    const waiter = this.#waiter;
    this.#waiter = undefined;
    waiter?.({ value: undefined, done: true });
  }

  /** Drops what is buffered and everything that follows: nobody will read it. */
  discard(): void {
    const wasFull = this.full;
    this.#discarding = true;
    this.#chunks = [];
    this.#head = 0;
    this.#buffered = 0;
    this.end();
    if (wasFull) this.#onRoom();
  }

  /** The next chunk, or the end. */
  next(): Promise<IteratorResult<Uint8Array>> {
    if (this.#head < this.#chunks.length) {
      const chunk = this.#chunks[this.#head]!;
      this.#chunks[this.#head++] = EMPTY;
      if (this.#head === this.#chunks.length) {
        this.#chunks = [];
        this.#head = 0;
      } else if (this.#head > 64 && this.#head * 2 > this.#chunks.length) {
        this.#chunks = this.#chunks.slice(this.#head);
        this.#head = 0;
      }
      const wasFull = this.full;
      this.#buffered -= chunk.length;
      if (wasFull && !this.full) this.#onRoom();
      return Promise.resolve({ value: chunk, done: false });
    }
    if (this.#ended) return Promise.resolve({ value: undefined, done: true });
    if (this.#waiter) return Promise.reject(new Error("A stream's bytes have a single reader"));
    return new Promise((resolve) => this.#waiter = resolve);
  }

  /** Stops reading: later bytes are dropped. */
  return(): Promise<IteratorResult<Uint8Array>> {
    this.discard();
    return Promise.resolve({ value: undefined, done: true });
  }

  /** The queue is its own iterator. */
  [Symbol.asyncIterator](): AsyncIterableIterator<Uint8Array> {
    return this;
  }
}

const EMPTY = new Uint8Array(0);
