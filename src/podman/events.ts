/**
 * The libpod event stream: `GET /libpod/events?stream=true` held open on a dedicated connection, parsed into
 * {@link PodmanEvent}s, and re-opened with backoff whenever Podman goes away.
 *
 * Podman 4.3.1 answers with newline-delimited JSON, one object per event, for example:
 * `{"status":"start","id":"<64 hex>","from":"<image>","Type":"container","Action":"start","Actor":{"ID":"<64 hex>",
 * "Attributes":{"containerExitCode":"0","image":"<image>","name":"<name>","podId":"<pod id or empty>",
 * "<label>":"<value>",…}},"scope":"local","time":1795648988,"timeNano":1795648988046470472}`.
 * Container events carry the container's labels in `Attributes`, next to `name`, `image`, `podId` and
 * `containerExitCode`; pod events carry only `name` (not the pod's labels).
 *
 * Seen on Podman 4.3.1 with the `file` event logger (CLI and REST actions both land in the log the service tails):
 * events arrive 0–250 ms after they happen (the log is polled); `cleanup` and `exec_died` are often logged twice;
 * `podman stop` on the CLI logs no `stop` event (the REST stop does), only `died`; a `died` event of a container
 * stopped together with its pod has an empty `podId`; lines are in log order, which is not always `timeNano` order.
 * @module
 */
import type { Logger } from "../observability/log.ts";
import type { Metrics } from "../observability/metrics.ts";
import { PodmanHttp } from "./client.ts";
import { errorForTransport, PodmanError, podmanMessage } from "./errors.ts";
import { CriError } from "../errors.ts";

/** One libpod event, as the stream delivers it. */
export interface PodmanEvent {
  /** What the event is about: "container", "pod", "image", "volume", "network", "system", … */
  type: "container" | "pod" | string;
  /** What happened, e.g. "create", "init", "start", "died", "cleanup", "remove", "exec_died". */
  action: string;
  /** Full id of the container, pod, image, … (empty for some image events such as "pull"). */
  id: string;
  /** `Attributes.name`, when Podman sent one. */
  name?: string;
  /** When the event happened, in nanoseconds since the epoch (exact: parsed from the JSON text, not a double). */
  timeNano: bigint;
  /** `Actor.Attributes`: `name`, `image`, `podId`, `containerExitCode` and, for containers, their labels. */
  attributes: Record<string, string>;
}

/** The outcome of {@link parseEventLine}: an event, or why the line is not one. */
export type ParsedEventLine = { ok: true; event: PodmanEvent } | { ok: false; reason: string };

/**
 * Parses one line of the libpod event stream. Unknown fields are ignored; a line that is not a JSON object with a
 * `Type` and an `Action` (or `status`) comes back as `{ ok: false, reason }`. Never throws.
 */
export function parseEventLine(line: string): ParsedEventLine {
  let raw: unknown;
  try {
    // timeNano (~1.8e18) does not fit a double: read its digits from the source text (V8's JSON.parse source
    // access) so nanosecond ordering survives.
    raw = JSON.parse(line, (key, value, context?: { source?: string }) => {
      if (key === "timeNano" && typeof value === "number" && typeof context?.source === "string") {
        try {
          return BigInt(context.source);
        } catch {
          return value;
        }
      }
      return value;
    });
  } catch (err) {
    return { ok: false, reason: `not JSON: ${(err as Error).message}` };
  }
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    return { ok: false, reason: "not a JSON object" };
  }
  const r = raw as Record<string, unknown>;
  const type = r["Type"] ?? r["type"];
  if (typeof type !== "string" || type === "") return { ok: false, reason: "no Type" };
  const action = r["Action"] ?? r["status"];
  if (typeof action !== "string" || action === "") return { ok: false, reason: "no Action" };
  const actor = isRecord(r["Actor"]) ? r["Actor"] : {};
  const id = typeof actor["ID"] === "string" ? actor["ID"] : typeof r["id"] === "string" ? r["id"] : "";
  const attributes = Object.fromEntries(
    Object.entries(isRecord(actor["Attributes"]) ? actor["Attributes"] : {}).filter(([, v]) => typeof v === "string"),
  ) as Record<string, string>;
  const timeNano = toTimeNano(r["timeNano"], r["time"]);
  if (timeNano === undefined) return { ok: false, reason: "no timeNano or time" };
  const event: PodmanEvent = { type, action, id, timeNano, attributes };
  if (attributes["name"] !== undefined) event.name = attributes["name"];
  return { ok: true, event };
}

/** Cuts a byte stream into lines: chunks may split a line (or a UTF-8 character) anywhere, or hold many lines. */
export class EventLineSplitter {
  readonly #decoder = new TextDecoder();
  readonly #maxLineChars: number;
  #partial = "";
  #skipping = false;
  /** Lines dropped so far because they exceeded the size limit. */
  dropped = 0;

  /** Creates a splitter; a line longer than `maxLineChars` (default 1 MiB) is dropped rather than buffered. */
  constructor(opts: { maxLineChars?: number } = {}) {
    this.#maxLineChars = opts.maxLineChars ?? 1 << 20;
  }

  /** Adds a chunk and returns the complete, non-blank lines it finished (trimmed), in order. */
  push(chunk: Uint8Array | string): string[] {
    const text = typeof chunk === "string" ? chunk : this.#decoder.decode(chunk, { stream: true });
    return this.#take(text, false);
  }

  /** Ends the input: returns the last line if it had no newline. */
  flush(): string[] {
    return this.#take(this.#decoder.decode(), true);
  }

  #take(text: string, end: boolean): string[] {
    const lines: string[] = [];
    let start = 0;
    for (let nl = text.indexOf("\n"); nl >= 0; nl = text.indexOf("\n", start)) {
      const piece = text.slice(start, nl);
      start = nl + 1;
      if (this.#skipping) {
        this.#skipping = false;
        this.#partial = "";
        continue;
      }
      const line = (this.#partial + piece).trim();
      this.#partial = "";
      if (line.length > this.#maxLineChars) this.dropped += 1;
      else if (line !== "") lines.push(line);
    }
    if (!this.#skipping) {
      this.#partial += text.slice(start);
      if (this.#partial.length > this.#maxLineChars) {
        // Stop buffering a runaway line; everything up to its newline is dropped.
        this.#partial = "";
        this.#skipping = true;
        this.dropped += 1;
      }
    }
    if (end) {
      const line = this.#partial.trim();
      this.#partial = "";
      this.#skipping = false;
      if (line !== "") lines.push(line);
    }
    return lines;
  }
}

/** Options of a {@link PodmanEventStream}. */
export interface PodmanEventStreamOptions {
  /** Event types to receive (Podman's `type` filter), e.g. `["container", "pod"]`; all types when absent. */
  types?: string[];
  /** Where connection changes (info/warn) and skipped lines (debug) are logged. */
  log: Logger;
  /** First delay before reconnecting (default 100 ms); it doubles after each failed attempt. */
  reconnectDelayMs?: number;
  /** Longest delay between reconnect attempts (default 2 000 ms). */
  maxReconnectDelayMs?: number;
  /**
   * How long to wait for the response headers (default 30 000 ms). Podman 4.3.1 sends them at once, before any
   * event; a service that accepts the connection and never answers is retried instead of waited on forever.
   */
  headersTimeoutMs?: number;
  /** Events held while `onConnected` runs before the stream gives up and reconnects (default 100 000). */
  maxBufferedEvents?: number;
  /** Counts each connection after the first (a reconnect). */
  metrics?: Pick<Metrics, "eventStreamReconnect"> | undefined;
}

/** Callbacks of a {@link PodmanEventStream}; they never run concurrently with each other. */
export interface PodmanEventHandlers {
  /** Called for each event, in the order Podman sent them. A throw is logged and does not stop the stream. */
  onEvent(e: PodmanEvent): void;
  /**
   * Called each time the stream is (re)connected, after Podman's 200 response headers arrived. Events that
   * arrive while its promise is pending are held and delivered, in order, after it resolves. If it rejects (or
   * the connection is lost first), the held events are dropped and the stream reconnects, so it is called again.
   */
  onConnected(): void | Promise<void>;
  /**
   * Called when a connected stream is lost (or the first connection attempt fails), with the cause; called at
   * most once between two `onConnected` calls: failed retries are only logged.
   */
  onDisconnected?(err?: Error): void;
}

const WHAT = "Cannot watch Podman events";

/**
 * A long-lived subscription to libpod's event stream on one socket, re-opened with backoff when it breaks.
 *
 * Ordering guarantee: `onConnected` runs after Podman answered 200; events that arrive from then on reach
 * `onEvent` in order, and, if `onConnected` returns a promise, only after that promise resolved. Podman 4.3.1
 * starts tailing its event log (from its end, no `since` needed) in a goroutine as it sends those headers, so the
 * tail is in place microseconds after the headers leave, long before a relist started on their arrival can read
 * anything. A consumer that relists everything in `onConnected` therefore misses nothing: a change the relist did
 * not see arrives as an event afterwards. Events may repeat what the relist already saw (and Podman logs some
 * twice), so treat them as "look at this object again", not as state. Callbacks never overlap: after a
 * disconnect, `onDisconnected` and the next `onConnected` wait until the previous `onConnected` has settled.
 */
export class PodmanEventStream {
  readonly #http: PodmanHttp;
  readonly #ownsHttp: boolean;
  readonly #log: Logger;
  readonly #types: readonly string[] | undefined;
  readonly #initialDelayMs: number;
  readonly #maxDelayMs: number;
  readonly #headersTimeoutMs: number;
  readonly #maxBuffered: number;
  readonly #metrics: PodmanEventStreamOptions["metrics"];
  readonly #stopController = new AbortController();
  #loop: Promise<void> | undefined;
  #stopped: Promise<void> | undefined;
  #connected = false;

  /**
   * Prepares a stream for the libpod service on a socket path (or through an existing client: each session gets a
   * connection of its own either way); nothing connects before {@link start}.
   */
  constructor(
    socketOrHttp: string | PodmanHttp,
    opts: PodmanEventStreamOptions,
  ) {
    this.#ownsHttp = typeof socketOrHttp === "string";
    this.#http = typeof socketOrHttp === "string" ? new PodmanHttp(socketOrHttp) : socketOrHttp;
    this.#log = opts.log;
    this.#types = opts.types;
    this.#initialDelayMs = Math.max(1, opts.reconnectDelayMs ?? 100);
    this.#maxDelayMs = Math.max(this.#initialDelayMs, opts.maxReconnectDelayMs ?? 2_000);
    this.#headersTimeoutMs = opts.headersTimeoutMs ?? 30_000;
    this.#maxBuffered = opts.maxBufferedEvents ?? 100_000;
    this.#metrics = opts.metrics;
  }

  /** Whether the stream is connected now (response headers received, connection not yet lost). */
  get connected(): boolean {
    return this.#connected;
  }

  /** The request path under the libpod prefix, filters included: `/events?stream=true&filters={"type":[…]}`. */
  get #relativePath(): string {
    const query = new URLSearchParams({ stream: "true" });
    if (this.#types !== undefined && this.#types.length > 0) {
      query.set("filters", JSON.stringify({ type: this.#types }));
    }
    return `/events?${query}`;
  }

  /**
   * Starts streaming; `onEvent` for each event; `onConnected()` after the stream (re)connects — the consumer
   * rebuilds its state then, since events may have been missed while disconnected. Call it once.
   */
  start(handlers: PodmanEventHandlers): void {
    if (this.#loop !== undefined || this.#stopController.signal.aborted) {
      throw new Error("PodmanEventStream.start() can only be called once");
    }
    this.#loop = this.#run(handlers).catch((err) => {
      this.#log.error("podman event stream failed", { err });
    });
  }

  /** Aborts the request; resolves once no callback will fire any more and no timer or socket is left. */
  stop(): Promise<void> {
    this.#stopped ??= (async () => {
      this.#stopController.abort(new CriError("Canceled", "The Podman event stream was stopped"));
      await this.#loop;
      this.#connected = false;
      if (this.#ownsHttp) await this.#http.close();
    })();
    return this.#stopped;
  }

  async #run(handlers: PodmanEventHandlers): Promise<void> {
    const stop = this.#stopController.signal;
    let delay = this.#initialDelayMs;
    let reported = false;
    let connectedBefore = false;
    while (!stop.aborted) {
      const startedAt = Date.now();
      const { error, connected } = await this.#session(handlers, () => {
        reported = false;
        if (connectedBefore) this.#metrics?.eventStreamReconnect();
        connectedBefore = true;
      });
      this.#connected = false;
      if (stop.aborted) break;
      // A session that lived a while starts the backoff over; one that broke at once keeps backing off.
      if (connected && Date.now() - startedAt >= this.#maxDelayMs) delay = this.#initialDelayMs;
      if (!reported) {
        reported = true;
        this.#log.warn("podman event stream disconnected", { err: error, retryInMs: delay });
        try {
          handlers.onDisconnected?.(error);
        } catch (err) {
          this.#log.error("onDisconnected handler threw", { err });
        }
      } else {
        this.#log.debug("podman event stream reconnect failed", { err: error, retryInMs: delay });
      }
      await sleep(delay, stop);
      delay = Math.min(delay * 2, this.#maxDelayMs);
    }
  }

  /** One request: connect, call onConnected, deliver events until the response ends, fails or is aborted. */
  async #session(
    handlers: PodmanEventHandlers,
    onUp: () => void,
  ): Promise<{ error: Error; connected: boolean }> {
    const stop = this.#stopController.signal;
    const session = new AbortController();
    let failure: Error | undefined;
    const fail = (err: Error) => {
      failure ??= err;
      session.abort(err);
    };
    const onStop = () => session.abort(stop.reason);
    stop.addEventListener("abort", onStop, { once: true });
    let connected = false;
    let gate: Promise<void> | undefined;
    let closeStream: (() => Promise<void>) | undefined;
    try {
      const res = await this.#http.openStream(WHAT, this.#relativePath, {
        signal: session.signal,
        headersTimeoutMs: this.#headersTimeoutMs,
      });
      closeStream = res.close;
      connected = true;
      this.#connected = true;
      onUp();
      this.#log.info("podman event stream connected", { socket: this.#http.socketPath, types: this.#types });

      // Events that arrive while onConnected's promise runs wait here, in order.
      let held: PodmanEvent[] | undefined;
      let overflowed = false;
      const deliver = (event: PodmanEvent) => {
        if (session.signal.aborted) return;
        if (held !== undefined) {
          if (held.length >= this.#maxBuffered) overflowed = true;
          else held.push(event);
          return;
        }
        try {
          handlers.onEvent(event);
        } catch (err) {
          this.#log.error("onEvent handler threw", { err, type: event.type, action: event.action, id: event.id });
        }
      };
      let result: void | Promise<void>;
      try {
        result = handlers.onConnected();
      } catch (err) {
        result = Promise.reject(err);
      }
      if (isPromiseLike(result)) {
        held = [];
        gate = Promise.resolve(result).then(
          () => {
            const pending = held ?? [];
            held = undefined;
            if (overflowed) {
              fail(
                new CriError(
                  "ResourceExhausted",
                  `${WHAT}: over ${this.#maxBuffered} events arrived during onConnected`,
                ),
              );
              return;
            }
            for (const event of pending) deliver(event);
          },
          (err: unknown) => {
            held = undefined;
            fail(new CriError("Unknown", `${WHAT}: onConnected failed: ${messageOf(err)}`, { cause: err }));
          },
        );
      }

      const splitter = new EventLineSplitter();
      const handleLines = (lines: string[]) => {
        for (const line of lines) {
          const parsed = parseEventLine(line);
          if (parsed.ok) deliver(parsed.event);
          else {this.#log.debug("skipping malformed podman event line", {
              reason: parsed.reason,
              line: line.slice(0, 200),
            });}
        }
      };
      for await (const chunk of res.body) handleLines(splitter.push(chunk));
      handleLines(splitter.flush());
      if (splitter.dropped > 0) this.#log.debug("dropped oversized podman event lines", { count: splitter.dropped });
      return {
        error: failure ?? new PodmanError("unreachable", `${WHAT}: Podman closed the event stream`),
        connected,
      };
    } catch (err) {
      return { error: failure ?? errorForTransport(WHAT, err), connected };
    } finally {
      stop.removeEventListener("abort", onStop);
      await closeStream?.();
      session.abort(failure ?? new Error("session ended"));
      // Callbacks never overlap: the next onDisconnected/onConnected waits until this onConnected has settled
      // (unless stop() is called, which waits for nothing the consumer started).
      if (gate !== undefined) await settleOrAbort(gate, stop);
    }
  }
}

function toTimeNano(timeNano: unknown, time: unknown): bigint | undefined {
  if (typeof timeNano === "bigint") return timeNano;
  if (typeof timeNano === "number" && Number.isFinite(timeNano)) return BigInt(Math.trunc(timeNano));
  if (typeof time === "number" && Number.isFinite(time)) return BigInt(Math.trunc(time)) * 1_000_000_000n;
  return undefined;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

function isPromiseLike(v: unknown): v is PromiseLike<void> {
  return v !== null && typeof v === "object" && typeof (v as { then?: unknown }).then === "function";
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : podmanMessage(err);
}

/** Waits `ms`, or less if `signal` aborts; leaves no timer behind either way. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}

/** Resolves when `promise` settles or `signal` aborts, whichever comes first. */
function settleOrAbort(promise: Promise<unknown>, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      signal.removeEventListener("abort", done);
      resolve();
    };
    signal.addEventListener("abort", done, { once: true });
    promise.then(done, done);
  });
}
