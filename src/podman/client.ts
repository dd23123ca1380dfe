/**
 * The HTTP edge to Podman, and the only one: libpod REST requests over Podman's unix socket with undici — plain
 * requests on a pool, long-lived streams (events) and hijacked connections (exec) on connections of their own — with
 * one way to read a failure (errors.ts). Knows nothing of the CRI.
 * @module
 */
import type { Duplex } from "node:stream";
import { Client, type Dispatcher, Pool } from "undici";
import { errorForStatus, errorForTransport } from "./errors.ts";

/** The libpod API version in request paths; Podman 4.3 serves every path we use under it. */
export const LIBPOD_PREFIX = "/v4.0.0/libpod";

/** Query values; `undefined` values are left out, arrays repeat the key. */
export type Query = Record<string, string | number | boolean | readonly string[] | undefined>;

/** Options of one libpod request. */
export interface RequestOptions {
  query?: Query;
  /** JSON body. */
  body?: unknown;
  headers?: Record<string, string>;
  /** Aborts the request (the CRI call's cancellation and deadline). */
  signal?: AbortSignal | undefined;
  /** Statuses treated as success besides 2xx (e.g. 304 "already stopped"). */
  okStatuses?: readonly number[];
}

/** A parsed libpod response. */
export interface PodmanResponse<T> {
  status: number;
  body: T;
}

/** Builds `path?query` with repeated keys for arrays. */
export function buildPath(path: string, query?: Query): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(query ?? {})) {
    if (value === undefined) continue;
    if (Array.isArray(value)) { for (const item of value) search.append(key, item); }
    else search.append(key, String(value));
  }
  const qs = search.toString();
  return `${LIBPOD_PREFIX}${path}${qs ? `?${qs}` : ""}`;
}

/** A connection pool to one Podman socket. */
export class PodmanHttp {
  readonly #pool: Pool;
  readonly #defaultTimeoutMs: number;
  /** The unix socket this client talks to. */
  readonly socketPath: string;

  /** Opens a pool of keep-alive connections to Podman's socket. */
  constructor(socketPath: string, opts: { connections?: number; defaultTimeoutMs?: number } = {}) {
    this.socketPath = socketPath;
    this.#defaultTimeoutMs = opts.defaultTimeoutMs ?? 120_000;
    this.#pool = new Pool("http://podman", {
      socketPath,
      connections: opts.connections ?? 16,
      pipelining: 1,
      keepAliveTimeout: 30_000,
      connectTimeout: 2_000,
      headersTimeout: 0,
      bodyTimeout: 0,
    });
  }

  /** Sends a request and parses the JSON answer; a non-success status throws a classified error naming `what`. */
  async json<T>(what: string, method: string, path: string, opts: RequestOptions = {}): Promise<PodmanResponse<T>> {
    const { status, text } = await this.text(what, method, path, opts);
    if (!isOk(status, opts.okStatuses)) throw errorForStatus(what, status, text);
    let body: unknown = text;
    if (text.length > 0) {
      try {
        body = JSON.parse(text);
      } catch {
        // Some endpoints answer plain text (e.g. _ping); keep it.
      }
    }
    return { status, body: body as T };
  }

  /** Sends a request and returns the status and body text, without judging the status. */
  async text(what: string, method: string, path: string, opts: RequestOptions = {}): Promise<{
    status: number;
    text: string;
  }> {
    // The call's own signal (client cancel, gRPC deadline) and our default deadline, whichever fires first.
    const timeout = AbortSignal.timeout(this.#defaultTimeoutMs);
    const signal = opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout;
    try {
      const res = await this.#pool.request({
        method: method as "GET",
        path: buildPath(path, opts.query),
        headers: { ...(opts.body !== undefined ? { "content-type": "application/json" } : {}), ...opts.headers },
        ...(opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}),
        signal,
      });
      const text = await res.body.text();
      return { status: res.statusCode, text };
    } catch (err) {
      throw errorForTransport(what, signal.aborted ? (signal.reason ?? err) : err);
    }
  }

  /**
   * Sends a request whose answer is a stream of JSON documents (image pulls), calling `onDocument` for each.
   * Returns the status; a non-success status throws.
   */
  async jsonStream(
    what: string,
    method: string,
    path: string,
    onDocument: (doc: unknown) => void,
    opts: RequestOptions = {},
  ): Promise<number> {
    const signal = opts.signal;
    try {
      const res = await this.#pool.request({
        method: method as "POST",
        path: buildPath(path, opts.query),
        headers: { ...opts.headers },
        ...(signal ? { signal } : {}),
      });
      if (!isOk(res.statusCode, opts.okStatuses)) throw errorForStatus(what, res.statusCode, await res.body.text());
      const decoder = new TextDecoder();
      let buffered = "";
      for await (const chunk of res.body) {
        buffered += decoder.decode(chunk as Uint8Array, { stream: true });
        buffered = drainDocuments(buffered, onDocument);
      }
      drainDocuments(buffered + "\n", onDocument);
      return res.statusCode;
    } catch (err) {
      throw errorForTransport(what, signal?.aborted ? (signal.reason ?? err) : err);
    }
  }

  /**
   * Opens a long-lived streaming request (the event stream) on a connection of its own, so it never holds a pooled
   * one; a non-200 answer throws the classified error. `close()` ends the connection.
   */
  async openStream(what: string, path: string, opts: {
    signal: AbortSignal;
    headersTimeoutMs: number;
  }): Promise<{ body: AsyncIterable<Uint8Array>; close: () => Promise<void> }> {
    const client = this.#dedicated({ headersTimeout: opts.headersTimeoutMs, bodyTimeout: 0 });
    const close = () => client.destroy().catch(() => {});
    try {
      const res = await client.request({
        method: "GET",
        path: buildPath(path),
        headers: { accept: "application/json" },
        signal: opts.signal,
      });
      if (res.statusCode !== 200) throw errorForStatus(what, res.statusCode, await res.body.text());
      return { body: res.body as AsyncIterable<Uint8Array>, close };
    } catch (err) {
      await close();
      throw errorForTransport(what, opts.signal.aborted ? (opts.signal.reason ?? err) : err);
    }
  }

  /**
   * Hijacks a connection of its own (`POST … Upgrade: tcp`, exec and attach): Podman answers 101 and the socket
   * carries the stream. undici reports any other answer as a bare "bad upgrade"; the caller may find out more.
   */
  async upgrade(
    what: string,
    path: string,
    body: unknown | undefined,
    opts: { signal?: AbortSignal | undefined } = {},
  ): Promise<{
    socket: Duplex;
    close: () => Promise<void>;
  }> {
    const client = this.#dedicated({ headersTimeout: 0, bodyTimeout: 0 });
    this.#upgraded.add(client);
    const close = async () => {
      this.#upgraded.delete(client);
      await client.destroy().catch(() => {});
    };
    try {
      // undici's types omit `body` for upgrades, but it sends it (the options go to dispatch as they are). No body
      // at all for attach: Podman hands whatever follows the headers of a hijacked attach to the container's stdin.
      const upgradeOptions: Dispatcher.UpgradeOptions & { body?: string } = {
        method: "POST",
        path: buildPath(path),
        protocol: "tcp",
        ...(body === undefined ? {} : { headers: { "content-type": "application/json" }, body: JSON.stringify(body) }),
        ...(opts.signal ? { signal: opts.signal } : {}),
      };
      const upgraded = await client.upgrade(upgradeOptions);
      return { socket: upgraded.socket, close };
    } catch (err) {
      await close();
      throw errorForTransport(what, opts.signal?.aborted ? (opts.signal.reason ?? err) : err);
    }
  }

  #dedicated(timeouts: { headersTimeout: number; bodyTimeout: number }): Client {
    return new Client("http://podman", {
      socketPath: this.socketPath,
      connectTimeout: 2_000,
      pipelining: 1,
      ...timeouts,
    });
  }

  readonly #upgraded = new Set<Client>();

  /** Closes every pooled connection and every hijacked one still open. */
  async close(): Promise<void> {
    await Promise.all([...this.#upgraded].map((c) => c.destroy().catch(() => {})));
    await this.#pool.destroy();
  }
}

/** Splits newline-delimited JSON off the front of `buffered`, returning what is left. */
function drainDocuments(buffered: string, onDocument: (doc: unknown) => void): string {
  let nl;
  while ((nl = buffered.indexOf("\n")) >= 0) {
    const line = buffered.slice(0, nl).trim();
    buffered = buffered.slice(nl + 1);
    if (line) {
      try {
        onDocument(JSON.parse(line));
      } catch {
        onDocument({ stream: line });
      }
    }
  }
  return buffered;
}

function isOk(status: number, extra?: readonly number[]): boolean {
  return (status >= 200 && status < 300) || (extra?.includes(status) ?? false);
}
