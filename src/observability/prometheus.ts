/**
 * The {@link Metrics} sink as Prometheus metrics, kept in a prom-client registry of our own (never prom-client's
 * global one) and rendered in the text exposition format 0.0.4. The only user of prom-client.
 * @module
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import type { ListKind, Metrics, PullInFlight, StreamingKind } from "./metrics.ts";

/** Upper bounds (seconds) of the latency histograms: a `Version` takes well under a millisecond, a pull minutes. */
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

/**
 * prom-client's default metrics that Deno's Node compatibility only pretends to have: the active handle, request
 * and resource counts come from stubs (always 0 or one "Immediate"), the GC histogram never gets an observation,
 * the one-shot event-loop lag reads 0, and the "Node.js version" is Deno's compatibility level. Left out rather than
 * exported as facts.
 */
const UNTRUE_UNDER_DENO = [
  "nodejs_active_handles",
  "nodejs_active_handles_total",
  "nodejs_active_requests",
  "nodejs_active_requests_total",
  "nodejs_active_resources",
  "nodejs_active_resources_total",
  "nodejs_gc_duration_seconds",
  "nodejs_eventloop_lag_seconds",
  "nodejs_version_info",
];

const STREAMING_KINDS: readonly StreamingKind[] = ["exec", "attach", "portforward"];
const LIST_KINDS: readonly ListKind[] = ["sandboxes", "containers"];

/** A {@link Metrics} sink that can render itself for a scrape. */
export interface PrometheusMetrics extends Metrics {
  /** The `Content-Type` of {@link render}'s text. */
  readonly contentType: string;
  /** Every metric in the Prometheus text format. */
  render(): Promise<string>;
}

/**
 * Creates the registry with every metric of cri-podman. `processMetrics` adds prom-client's process and V8 heap
 * metrics (those true under Deno): off in unit tests that compare whole renderings.
 */
export function createPrometheusMetrics(opts: { processMetrics?: boolean } = {}): PrometheusMetrics {
  const registry = new Registry();
  const registers = [registry];
  if (opts.processMetrics ?? true) {
    collectDefaultMetrics({ register: registry });
    for (const name of UNTRUE_UNDER_DENO) registry.removeSingleMetric(name);
  }

  const rpcs = new Counter({
    name: "cri_podman_grpc_requests_total",
    help: "CRI calls handled, by gRPC method and status code",
    labelNames: ["method", "code"] as const,
    registers,
  });
  const rpcSeconds = new Histogram({
    name: "cri_podman_grpc_request_duration_seconds",
    help: "Time from a CRI call's arrival to its answer, by gRPC method and status code",
    labelNames: ["method", "code"] as const,
    buckets: LATENCY_BUCKETS,
    registers,
  });
  const podmanSeconds = new Histogram({
    name: "cri_podman_podman_request_duration_seconds",
    help: "Time of libpod requests (to the last byte; to the headers for the event stream, to the upgrade for " +
      "exec and attach), failed ones included, by endpoint class and HTTP method",
    labelNames: ["endpoint", "method"] as const,
    buckets: LATENCY_BUCKETS,
    registers,
  });
  const podmanErrors = new Counter({
    name: "cri_podman_podman_request_errors_total",
    help: "libpod requests that failed, by endpoint class, HTTP method and reason (not-found, unreachable, …)",
    labelNames: ["endpoint", "method", "reason"] as const,
    registers,
  });
  const listCache = new Counter({
    name: "cri_podman_list_cache_requests_total",
    help: "Reads of the List cache (List, Status and stats calls): answered from memory (hit) or from Podman " +
      "(miss: the event stream was not synced, or a status not kept yet)",
    labelNames: ["list", "result"] as const,
    registers,
  });
  const sessionsOpen = new Gauge({
    name: "cri_podman_streaming_sessions",
    help: "Streaming sessions open now, by kind",
    labelNames: ["kind"] as const,
    registers,
  });
  const sessions = new Counter({
    name: "cri_podman_streaming_sessions_total",
    help: "Streaming sessions opened, by kind",
    labelNames: ["kind"] as const,
    registers,
  });
  const reconnects = new Counter({
    name: "cri_podman_podman_event_stream_reconnects_total",
    help: "Times Podman's event stream connected again after it was lost",
    registers,
  });
  const pulls = new Set<{ bytes: number }>();
  new Gauge({
    name: "cri_podman_image_pulls_in_flight",
    help: "Image pulls running now",
    registers,
    collect() {
      this.set(pulls.size);
    },
  });
  new Gauge({
    name: "cri_podman_image_pull_bytes",
    help: "Bytes downloaded so far by the image pulls running now (blob bytes Podman has written)",
    registers,
    collect() {
      let total = 0;
      for (const pull of pulls) total += pull.bytes;
      this.set(total);
    },
  });
  // Known label values start at 0, so a dashboard's rate() sees the first event.
  for (const kind of STREAMING_KINDS) {
    sessionsOpen.set({ kind }, 0);
    sessions.inc({ kind }, 0);
  }
  for (const list of LIST_KINDS) {
    for (const result of ["hit", "miss"]) listCache.inc({ list, result }, 0);
  }

  return {
    contentType: registry.contentType,
    render: () => registry.metrics(),
    rpc(method, code, seconds) {
      rpcs.inc({ method, code });
      rpcSeconds.observe({ method, code }, seconds);
    },
    podmanRequest(endpoint, method, seconds, error) {
      podmanSeconds.observe({ endpoint, method }, seconds);
      if (error !== undefined) podmanErrors.inc({ endpoint, method, reason: error });
    },
    listCache(list, hit) {
      listCache.inc({ list, result: hit ? "hit" : "miss" });
    },
    streamingSession(kind) {
      sessionsOpen.inc({ kind });
      sessions.inc({ kind });
      let open = true;
      return () => {
        if (!open) return;
        open = false;
        sessionsOpen.dec({ kind });
      };
    },
    eventStreamReconnect() {
      reconnects.inc();
    },
    pullStarted(): PullInFlight {
      const pull = { bytes: 0 };
      pulls.add(pull);
      return {
        progress(bytes) {
          if (pulls.has(pull) && Number.isFinite(bytes) && bytes >= 0) pull.bytes = bytes;
        },
        done() {
          pulls.delete(pull);
        },
      };
    },
  };
}
