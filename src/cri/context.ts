/**
 * What every CRI handler receives besides its request: the Podman port, configuration, runtime state, a logger,
 * and the call's cancellation signal (fired on client cancel or deadline).
 * @module
 */
import type { Config } from "../config/schema.ts";
import type { FsUsageProbe } from "../host/fs_usage.ts";
import type { OciRuntimeProbes } from "../host/oci_runtime.ts";
import type { StreamingUrls } from "../streaming/urls.ts";
import type { ContainerEventHub } from "./container_events.ts";
import type { ContainerEventMessage } from "./container_event_source.ts";
import type { Logger } from "../observability/log.ts";
import type { Metrics } from "../observability/metrics.ts";
import type { PullBlobWatcher } from "../host/pull_blobs.ts";
import type { PodmanPort } from "../podman/port.ts";
import type { ImageCache } from "./image_cache.ts";
import type { RuntimeCache } from "./runtime_cache.ts";
import type { RuntimeState } from "./runtime_state.ts";
import type { StatsCollector } from "./stats/collector.ts";

/** The per-call context of a CRI handler. */
export interface RpcContext {
  readonly podman: PodmanPort;
  readonly config: Config;
  readonly state: RuntimeState;
  /** Sandboxes and containers for List calls, fed by Podman's events. */
  readonly cache: RuntimeCache;
  /** Stored images for ImageStatus, ListImages and image lookups, fed by Podman's image events. */
  readonly images: Pick<ImageCache, "lookup" | "memoize" | "refreshImage" | "forget">;
  readonly log: Logger;
  /** Cached filesystem usage walks (ImageFsInfo). */
  readonly fsUsage: Pick<FsUsageProbe, "usage">;
  /** Which OCI runtimes can run containers on this host (probed once each). */
  readonly ociRuntimes: Pick<OciRuntimeProbes, "verdict" | "firstUsable">;
  /** Whether cri-podman runs the Podman service itself (and so chose its OCI runtime). */
  readonly podmanEmbedded: boolean;
  /** The streaming server's URLs for Exec, Attach and PortForward. */
  readonly streaming: StreamingUrls;
  /** The lifecycle events GetContainerEvents streams (subscribe with the call's signal). */
  readonly containerEvents: Pick<ContainerEventHub<ContainerEventMessage>, "subscribe">;
  /** cri-podman's own metrics; absent (or `noMetrics`) when they are off. */
  readonly metrics?: Metrics;
  /** The bytes Podman has downloaded for a pull in flight (PullImage's progress log and metrics). */
  readonly pullBytes?: Pick<PullBlobWatcher, "track">;
  /** Measures containers' and pods' resource usage (the stats and metrics RPCs). */
  readonly stats: Pick<StatsCollector, "containers" | "pods">;
  /** Aborted when the client cancels or the call's deadline passes; pass it to every Podman call. */
  readonly signal: AbortSignal;
}

/** Everything in an {@link RpcContext} that lives longer than one call. */
export type ServiceDeps = Omit<RpcContext, "signal">;
