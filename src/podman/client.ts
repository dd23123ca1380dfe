/**
 * The HTTP edge to Podman, and the only one: libpod REST requests over Podman's unix socket with undici — plain
 * requests on a pool, long-lived streams (events) and hijacked connections (exec) on connections of their own — with
 * one way to read a failure (errors.ts). Knows nothing of the CRI.
 * @module
 */
import type { Duplex } from "node:stream";
import { Client, type Dispatcher, Pool } from "undici";
import { type Metrics, noMetrics } from "../observability/metrics.ts";
import { recordSpan } from "../observability/call_trace.ts";
import { CriError } from "../errors.ts";
import { errorForStatus, errorForTransport, PodmanError } from "./errors.ts";

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

/** Second path segments that name a collection's action rather than one object (`/containers/json`). */
const COLLECTION_ACTIONS = new Set(["json", "create", "pull", "prune", "stats", "load", "import", "search", "exists"]);

/**
 * The endpoint class of a libpod path, for metrics: the object's name or ID becomes `{id}`, so the label set stays
 * small (`/containers/4f…/start` → `containers/{id}/start`, `/images/pull` → `images/pull`, `/_ping` → `_ping`).
 * Names are one segment: callers encode them (`encodeURIComponent`), slashes included.
 */
export function endpointClass(path: string): string {
  const parts = path.split("?")[0]!.split("/").filter((p) => p !== "");
  if (parts.length >= 2 && !COLLECTION_ACTIONS.has(parts[1]!)) parts[1] = "{id}";
  return parts.slice(0, 3).join("/");
}

/** A connection pool to one Podman socket. */
export class PodmanHttp {
  readonly #pool: Pool;
  readonly #defaultTimeoutMs: number;
  readonly #metrics: Metrics;
  /** The unix socket this client talks to. */
  readonly socketPath: string;

  /** Opens a pool of keep-alive connections to Podman's socket. */
  constructor(
    socketPath: string,
    opts: { connections?: number; defaultTimeoutMs?: number; metrics?: Metrics | undefined } = {},
  ) {
    this.socketPath = socketPath;
    this.#defaultTimeoutMs = opts.defaultTimeoutMs ?? 120_000;
    this.#metrics = opts.metrics ?? noMetrics;
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
  json<T>(what: string, method: string, path: string, opts: RequestOptions = {}): Promise<PodmanResponse<T>> {
    return this.#timed(method, path, () => this.#json<T>(what, method, path, opts));
  }

  async #json<T>(what: string, method: string, path: string, opts: RequestOptions): Promise<PodmanResponse<T>> {
    const { status, text } = await this.#text(what, method, path, opts);
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
  text(what: string, method: string, path: string, opts: RequestOptions = {}): Promise<{
    status: number;
    text: string;
  }> {
    return this.#timed(method, path, () => this.#text(what, method, path, opts));
  }

  async #text(what: string, method: string, path: string, opts: RequestOptions): Promise<{
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
  jsonStream(
    what: string,
    method: string,
    path: string,
    onDocument: (doc: unknown) => void,
    opts: RequestOptions = {},
  ): Promise<number> {
    return this.#timed(method, path, () => this.#jsonStream(what, method, path, onDocument, opts));
  }

  async #jsonStream(
    what: string,
    method: string,
    path: string,
    onDocument: (doc: unknown) => void,
    opts: RequestOptions,
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
  openStream(what: string, path: string, opts: {
    signal: AbortSignal;
    headersTimeoutMs: number;
  }): Promise<{ body: AsyncIterable<Uint8Array>; close: () => Promise<void> }> {
    return this.#timed("GET", path, () => this.#openStream(what, path, opts));
  }

  async #openStream(what: string, path: string, opts: {
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
  upgrade(
    what: string,
    path: string,
    body: unknown | undefined,
    opts: { signal?: AbortSignal | undefined } = {},
  ): Promise<{
    socket: Duplex;
    close: () => Promise<void>;
  }> {
    return this.#timed("POST", path, () => this.#upgrade(what, path, body, opts));
  }

  async #upgrade(
    what: string,
    path: string,
    body: unknown | undefined,
    opts: { signal?: AbortSignal | undefined },
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

  /** Runs one request and reports its latency, and its failure's reason, to the metrics: every request passes here. */
  async #timed<T>(method: string, path: string, request: () => Promise<T>): Promise<T> {
    const started = performance.now();
    const endpoint = endpointClass(path);
    try {
      const result = await request();
      const ms = performance.now() - started;
      this.#metrics.podmanRequest(endpoint, method, ms / 1000);
      recordSpan(`${method} ${endpoint}`, ms);
      return result;
    } catch (err) {
      const ms = performance.now() - started;
      this.#metrics.podmanRequest(endpoint, method, ms / 1000, failureReason(err));
      recordSpan(`${method} ${endpoint} (failed)`, ms);
      throw err;
    }
  }

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

/** The metrics' reason of a failed request: Podman's failure reason, or the call's cancel or deadline. */
function failureReason(err: unknown): string {
  if (err instanceof PodmanError) return err.reason;
  if (err instanceof CriError && err.code === "DeadlineExceeded") return "timeout";
  if (err instanceof CriError && err.code === "Canceled") return "canceled";
  return "unknown";
}

function isOk(status: number, extra?: readonly number[]): boolean {
  return (status >= 200 && status < 300) || (extra?.includes(status) ?? false);
}
