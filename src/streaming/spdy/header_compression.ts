/**
 * The two zlib contexts of a SPDY/3 connection (draft 3, §2.6.10.1): every header block a side sends continues one
 * deflate stream primed with {@link SPDY_DICTIONARY} and ends with a sync flush; every block it receives continues one
 * inflate stream. spdystream does the same with Go's compress/zlib: one `zlib.NewWriterLevelDict(…, BestCompression,
 * headerDictionary)` per framer, `Flush()` (a sync flush) after each block (spdy/write.go), and one
 * `zlib.NewReaderDict` fed each frame's block in turn (spdy/read.go uncorkHeaderDecompressor).
 *
 * Deno 2.9.6's `node:zlib` ignores `dictionary` when deflating: its blocks start `78 DA` (level 9, no preset
 * dictionary) instead of `78 F9` + the dictionary's Adler-32. That is still a valid zlib stream that Go's
 * `zlib.NewReaderDict` reads (it checks the dictionary ID only when the FDICT bit is set), and inflating with the
 * dictionary works, so both directions stay compatible; header_compression_test.ts pins both facts.
 * @module
 */

import { Buffer } from "node:buffer";
import zlib from "node:zlib";
import { SPDY_DICTIONARY } from "./dictionary.ts";
import { SpdyProtocolError } from "./errors.ts";

/** The default of the inflated-size limit of {@link HeaderDecompressor}. */
export const DEFAULT_MAX_HEADER_BLOCK_SIZE = 256 * 1024;

type ZlibStream = zlib.Deflate | zlib.Inflate;

// Runs the stream's operations one after another: each writes its input, sync-flushes, and collects the output.
class ZlibContext {
  readonly #stream: ZlibStream;
  readonly #what: string;
  #queue: Promise<unknown> = Promise.resolve();
  #failure: Error | undefined;
  #closed = false;
  // The operation in progress, told of errors and closing.
  #active: { fail: (err: Error) => void } | undefined;

  constructor(stream: ZlibStream, what: string) {
    this.#stream = stream;
    this.#what = what;
    // A permanent listener: Deno emits a zlib error after the flush callback, and an unheard 'error' is fatal.
    stream.on("error", (err: Error) => this.#fail(err));
    stream.on("close", () => this.#fail(new Error(`${what} context closed`)));
  }

  run(input: Uint8Array, limit: number): Promise<Uint8Array> {
    const op = this.#queue.then(() => this.#runOne(input, limit));
    this.#queue = op.catch(() => {});
    return op;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#failure ??= new Error(`${this.#what} context closed`);
    this.#stream.close();
  }

  #fail(err: Error): void {
    this.#failure ??= err;
    this.#active?.fail(err);
  }

  #runOne(input: Uint8Array, limit: number): Promise<Uint8Array> {
    if (this.#failure) return Promise.reject(this.#failure);
    return new Promise<Uint8Array>((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      let settled = false;
      const stream = this.#stream;
      const finish = (err?: Error) => {
        if (settled) return;
        settled = true;
        stream.off("data", onData);
        this.#active = undefined;
        if (err) reject(err);
        else resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks));
      };
      const onData = (chunk: Buffer) => {
        size += chunk.length;
        if (size > limit) {
          const err = new Error(`${this.#what} output exceeds ${limit} octets`);
          this.#failure ??= err;
          finish(err);
          return;
        }
        chunks.push(chunk);
      };
      this.#active = { fail: finish };
      stream.on("data", onData);
      stream.write(input);
      stream.flush(zlib.constants.Z_SYNC_FLUSH, () => finish(this.#failure));
    });
  }
}

/** The compressing side: one per connection, for every header block this side sends. */
export class HeaderCompressor {
  readonly #context = new ZlibContext(
    // Level 9 is spdystream's zlib.BestCompression.
    zlib.createDeflate({ dictionary: SPDY_DICTIONARY, level: zlib.constants.Z_BEST_COMPRESSION }),
    "header compression",
  );

  /** Compresses one uncompressed name/value block, ending it with a sync flush; calls run in order. */
  compress(block: Uint8Array): Promise<Uint8Array> {
    return this.#context.run(block, Number.MAX_SAFE_INTEGER);
  }

  /** Releases the zlib context; later calls reject. */
  close(): void {
    this.#context.close();
  }
}

/** The inflating side: one per connection, for every header block the peer sends. */
export class HeaderDecompressor {
  readonly #context = new ZlibContext(zlib.createInflate({ dictionary: SPDY_DICTIONARY }), "header decompression");
  readonly #maxSize: number;

  /** `maxSize` bounds the inflated size of one block (a zlib bomb is refused, not inflated). */
  constructor(maxSize: number = DEFAULT_MAX_HEADER_BLOCK_SIZE) {
    this.#maxSize = maxSize;
  }

  /**
   * Inflates one compressed header block, continuing the connection's stream; calls run in order. Rejects with
   * {@link SpdyProtocolError} (`bad-header-block`) on data that does not inflate or inflates past the limit; the
   * context is unusable afterwards, as the connection must end.
   */
  async decompress(block: Uint8Array): Promise<Uint8Array> {
    try {
      return await this.#context.run(block, this.#maxSize);
    } catch (err) {
      throw new SpdyProtocolError("bad-header-block", `Header block does not inflate: ${errorText(err)}`, {
        cause: err,
      });
    }
  }

  /** Releases the zlib context; later calls reject. */
  close(): void {
    this.#context.close();
  }
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
