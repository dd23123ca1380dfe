/**
 * What every CRI handler receives besides its request: the Podman port, configuration, runtime state, a logger,
 * and the call's cancellation signal (fired on client cancel or deadline).
 * @module
 */
import type { Config } from "../config/schema.ts";
import type { FsUsageProbe } from "../host/fs_usage.ts";
import type { OciRuntimeProbes } from "../host/oci_runtime.ts";
import type { StreamingUrls } from "../streaming/urls.ts";
import type { Logger } from "../observability/log.ts";
import type { PodmanPort } from "../podman/port.ts";
import type { RuntimeCache } from "./runtime_cache.ts";
import type { RuntimeState } from "./runtime_state.ts";

/** The per-call context of a CRI handler. */
export interface RpcContext {
  readonly podman: PodmanPort;
  readonly config: Config;
  readonly state: RuntimeState;
  /** Sandboxes and containers for List calls, fed by Podman's events. */
  readonly cache: RuntimeCache;
  readonly log: Logger;
  /** Cached filesystem usage walks (ImageFsInfo). */
  readonly fsUsage: Pick<FsUsageProbe, "usage">;
  /** Which OCI runtimes can run containers on this host (probed once each). */
  readonly ociRuntimes: Pick<OciRuntimeProbes, "verdict" | "firstUsable">;
  /** Whether cri-podman runs the Podman service itself (and so chose its OCI runtime). */
  readonly podmanEmbedded: boolean;
  /** The streaming server's URLs for Exec, Attach and PortForward. */
  readonly streaming: StreamingUrls;
  /** Aborted when the client cancels or the call's deadline passes; pass it to every Podman call. */
  readonly signal: AbortSignal;
}

/** Everything in an {@link RpcContext} that lives longer than one call. */
export type ServiceDeps = Omit<RpcContext, "signal">;
