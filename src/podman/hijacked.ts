/**
 * A hijacked libpod connection (exec start, container attach) as a pair of byte streams: what the process writes,
 * with back-pressure (the socket is read only as fast as the consumer iterates), and its stdin, whose end is a
 * half-close (Podman forwards it as EOF).
 * @module
 */
import type { Duplex } from "node:stream";

/** The process side of a hijacked connection. */
export class HijackedStream {
  readonly #socket: Duplex;
  readonly #close: () => Promise<void>;
  #inputEnded = false;

  /** Wraps the upgraded socket; `close` releases its connection. */
  constructor(socket: Duplex, close: () => Promise<void>) {
    this.#socket = socket;
    this.#close = close;
    // An unhandled socket error would abort the process; EPIPE on stdin (the process did not read it) is normal.
    socket.on("error", () => {});
  }

  /**
   * What the process writes, chunk by chunk, until Podman closes the connection: raw terminal output with a TTY,
   * Docker's 8-byte-framed stdout/stderr without one. Iterate it once.
   */
  output(): AsyncIterable<Uint8Array> {
    return this.#socket as AsyncIterable<Uint8Array>;
  }

  /** Writes to the process's stdin; resolves when the socket took it (back-pressure). */
  write(chunk: Uint8Array): Promise<void> {
    if (this.#inputEnded || this.#socket.destroyed) return Promise.resolve();
    return new Promise((resolve) => {
      if (this.#socket.write(chunk)) resolve();
      else {
        const done = () => {
          this.#socket.off("drain", done);
          this.#socket.off("close", done);
          resolve();
        };
        this.#socket.once("drain", done);
        this.#socket.once("close", done);
      }
    });
  }

  /** Ends stdin (half-close): the process reads EOF. */
  endInput(): void {
    if (this.#inputEnded) return;
    this.#inputEnded = true;
    if (!this.#socket.destroyed) this.#socket.end();
  }

  /** Drops the connection. */
  async close(): Promise<void> {
    this.#socket.destroy();
    await this.#close();
  }
}
