/**
 * An `OutputStream` (stdout, stderr, a forwarded connection's data) written as frames of one channel. Closing it sends
 * nothing: kubelet's wsstream channels have no end of their own on the wire (`websocketChannel.Close` only closes the
 * reading pipe), and client-go treats an unknown channel byte, 255 included, as a frame to discard; the client sees
 * the end of every output with the connection's normal close.
 * @module
 */
import type { OutputStream } from "../session.ts";
import type { ChannelConnection } from "./channel_connection.ts";

/** One channel's writer, with the connection's back-pressure (see the module documentation). */
export class OutputChannel implements OutputStream {
  readonly #connection: ChannelConnection;
  readonly #channel: number;
  readonly #name: string;
  readonly #onClose: (() => void) | undefined;
  #closed = false;

  /** Writes to `channel` of `connection`; `name` names it in errors, `onClose` hears of `close()`. */
  constructor(connection: ChannelConnection, channel: number, name: string, onClose?: () => void) {
    this.#connection = connection;
    this.#channel = channel;
    this.#name = name;
    this.#onClose = onClose;
  }

  /** True once `close()` was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Sends `chunk` (nothing for an empty one); resolves when the connection can take more, rejects once it is gone. */
  write(chunk: Uint8Array): Promise<void> {
    if (this.#closed) return Promise.reject(new Error(`${this.#name} is closed`));
    if (chunk.length === 0) return Promise.resolve();
    return this.#connection.send(this.#channel, chunk);
  }

  /** Ends this output; later writes are refused. */
  close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      this.#onClose?.();
    }
    return Promise.resolve();
  }
}
