/**
 * The metrics sink every layer reports to: a narrow interface of events (a call finished, a session opened), not a
 * registry. Layers get it injected and never see how it is rendered (`prometheus.ts`); with metrics off they get
 * {@link noMetrics}, so instrumented code never asks whether metrics are on.
 * @module
 */

/** Kinds of streaming session, as the URL names them. */
export type StreamingKind = "exec" | "attach" | "portforward";

/** Which List the cache answered. */
export type ListKind = "sandboxes" | "containers";

/** One pull in flight, as the metrics see it. */
export interface PullInFlight {
  /** The bytes Podman has downloaded for it so far (a running total, not an increment). */
  progress(bytes: number): void;
  /** The pull ended (either way): it leaves the in-flight gauges. Idempotent. */
  done(): void;
}

/** What cri-podman reports about itself. Every method is cheap and never throws. */
export interface Metrics {
  /** A gRPC call ended: its method (`Version`), its code (`OK`, `NotFound`, …) and how long it took. */
  rpc(method: string, code: string, seconds: number): void;
  /**
   * A libpod request ended: its endpoint class (`containers/{id}/start`), its HTTP method and how long it took;
   * `error` is the failure's reason (`not-found`, `unreachable`, …) when it failed.
   */
  podmanRequest(endpoint: string, method: string, seconds: number, error?: string): void;
  /** A List call was answered from the event-fed cache (`hit`) or straight from Podman (`miss`). */
  listCache(list: ListKind, hit: boolean): void;
  /** A streaming session opened; the returned function closes it (idempotent). */
  streamingSession(kind: StreamingKind): () => void;
  /** Podman's event stream connected again after it was lost. */
  eventStreamReconnect(): void;
  /** A pull began. */
  pullStarted(): PullInFlight;
}

/** A sink that drops everything: what layers get when metrics are off, and what tests get by default. */
export const noMetrics: Metrics = {
  rpc() {},
  podmanRequest() {},
  listCache() {},
  streamingSession: () => () => {},
  eventStreamReconnect() {},
  pullStarted: () => ({ progress() {}, done() {} }),
};
