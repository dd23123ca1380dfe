/**
 * Wires the runtime: configuration → logger → the host's prerequisites (runtime directory, sockets' directories,
 * storage driver, OCI runtime) → Podman (found or started) → gRPC services on the CRI socket. The only module that
 * builds concrete objects.
 * @module
 */
import { createHash } from "node:crypto";
import { hostname } from "node:os";
import { dirname } from "node:path";
import type { Config } from "./config/schema.ts";
import type { ServiceDeps } from "./cri/context.ts";
import { imageServiceHandlers } from "./cri/image_service.ts";
import { EventFeed } from "./cri/event_feed.ts";
import { ContainerEventHub } from "./cri/container_events.ts";
import { type ContainerEventMessage, ContainerEventSource } from "./cri/container_event_source.ts";
import { ImageCache } from "./cri/image_cache.ts";
import { RuntimeCache } from "./cri/runtime_cache.ts";
import { RuntimeState } from "./cri/runtime_state.ts";
import { FINISH_ON_SHUTDOWN, runtimeServiceHandlers } from "./cri/runtime_service.ts";
import { StartupError } from "./errors.ts";
import { ImageService, RuntimeService } from "./gen/runtime/v1/api_pb.ts";
import { type CallSummary, CallTracker } from "./grpc/call_tracker.ts";
import { criService, serveCri } from "./grpc/server.ts";
import { prepareSocketPath } from "./grpc/socket_file.ts";
import type { UnixListener } from "./grpc/unix_listener.ts";
import { ownOomScoreAdj } from "./host/files.ts";
import { ProcReader } from "./host/proc_stats.ts";
import { StatsCollector } from "./cri/stats/collector.ts";
import { FsUsageProbe } from "./host/fs_usage.ts";
import { OciRuntimeProbes } from "./host/oci_runtime.ts";
import { resolveRuntimeDir, runtimeDirProblem } from "./host/runtime_dir.ts";
import { planStorage, readStorageFacts, storagePaths, writeOverlayStorageConf } from "./host/storage.ts";
import { createLogger, type Logger } from "./observability/log.ts";
import { type Metrics, noMetrics } from "./observability/metrics.ts";
import { type MetricsServer, startMetricsServer } from "./observability/metrics_server.ts";
import { createPrometheusMetrics } from "./observability/prometheus.ts";
import { parseListenAddress } from "./config/rules.ts";
import { PullBlobWatcher } from "./host/pull_blobs.ts";
import { jsonFilterProgram, selfProgramArgv } from "./host/self_program.ts";
import {
  filterOciConfig,
  OCI_PATHS_HOOK_COMMAND,
  OCI_PATHS_HOOK_FILE,
  ociPathsHookFile,
} from "./translate/oci_paths_hook.ts";
import { connectPodman, type PodmanPort } from "./podman/mod.ts";
import { PodmanService } from "./podman/service.ts";
import { startStreamingServer, type StreamingServer } from "./streaming/server.ts";
import { inNodeProblem, nodeNetnsPath } from "./node/in_node.ts";
import { ensureNode } from "./node/enter.ts";
import { startStreamRelay, type StreamRelay } from "./node/stream_relay.ts";
import { CRI_PODMAN_VERSION } from "./version.ts";

/** A running cri-podman. */
export interface App {
  readonly config: Config;
  readonly log: Logger;
  readonly podman: PodmanPort;
  readonly podmanService: PodmanService;
  readonly listener: UnixListener;
  /**
   * Stops accepting, lets in-flight calls finish (bounded; lifecycle changes get a second grace to complete in
   * Podman), removes the socket, stops an embedded Podman.
   */
  stop(): Promise<void>;
}

/** Starts cri-podman with `config`; rejects (cleaning up) when Podman, the socket or the TLS files cannot be had. */
export async function startApp(config: Config): Promise<App> {
  // The metrics address is bound first: a bad one costs nothing, and every later failure stops the server again.
  const metrics = config.metrics.address ? createPrometheusMetrics() : undefined;
  const metricsServer = metrics ? await serveMetrics(config, metrics) : undefined;
  try {
    const app = await startServing(config, metrics ?? noMetrics);
    if (metricsServer) app.log.info("serving metrics", { url: metricsServer.url });
    return {
      ...app,
      stop: async () => {
        await app.stop();
        await metricsServer?.stop();
      },
    };
  } catch (err) {
    await metricsServer?.stop();
    throw err;
  }
}

/** Binds `metrics.address` and serves `GET /metrics` there; a failure is a StartupError naming the key. */
async function serveMetrics(
  config: Config,
  metrics: ReturnType<typeof createPrometheusMetrics>,
): Promise<MetricsServer> {
  const address = parseListenAddress(config.metrics.address)!; // the schema let only a valid one through
  try {
    return await startMetricsServer({ ...address, source: metrics });
  } catch (err) {
    throw new StartupError(
      `Cannot serve metrics on ${config.metrics.address} (metrics.address): ${(err as Error).message}`,
      { cause: err },
    );
  }
}

/** Starts everything but the metrics server, reporting to `metrics`. */
async function startServing(config: Config, metrics: Metrics): Promise<App> {
  const log = createLogger({ level: config.log.level, format: config.log.format });
  const host = { env: Deno.env.toObject(), uid: Deno.uid() ?? 0, gid: Deno.gid() ?? 0 };
  log.info("starting cri-podman", { version: CRI_PODMAN_VERSION, listen: config.listen, podman: config.podman.socket });
  const { path: runtimeDir, fromEnv } = resolveRuntimeDir(host.env, host.uid);
  const dirProblem = await runtimeDirProblem(runtimeDir, { fromEnv, uid: host.uid });
  if (dirProblem) throw new StartupError(dirProblem);
  const inNode = inNodeProblem(host.env);
  if (inNode) throw new StartupError(inNode);
  // Before Podman: a CRI socket we cannot have must stop the start at once, not after Podman was started.
  await prepareSocketPath(config.listen).catch((err: Error) => {
    throw new StartupError(`Cannot listen on "${config.listen}" (listen): ${err.message}`, { cause: err });
  });
  // Likewise the streaming server's TLS files: a missing one fails the start before Podman is touched.
  const tls = await readTls(config);

  const ociRuntimes = new OciRuntimeProbes({
    workDir: `${runtimeDir}/cri-podman`,
    uid: host.uid,
    gid: host.gid,
    pathEnv: host.env["PATH"] ?? "",
  });
  const probing = ociRuntimes.probeInstalled(); // ~30 ms each, while Podman starts
  const podman = connectPodman(config.podman.socket, {
    requestTimeoutMs: config.podman.request_timeout_seconds * 1000,
    metrics,
    log,
  });
  const podmanService = new PodmanService(podman.system, {
    socketPath: config.podman.socket,
    embedded: config.podman.embedded_service,
    binary: config.podman.binary,
    startTimeoutMs: config.podman.start_timeout_seconds * 1000,
    log,
    env: { ...host.env, XDG_RUNTIME_DIR: runtimeDir },
    beforeFirstSpawn: () => chooseStorageDriver(host.env, log),
    // Custom readonly_paths (translate/oci_paths_hook.ts): the filter runs as a program of its own.
    hooks: {
      root: `${runtimeDir}/cri-podman/hooks.d`,
      files: {
        [OCI_PATHS_HOOK_FILE]: ociPathsHookFile(
          selfProgramArgv(jsonFilterProgram(OCI_PATHS_HOOK_COMMAND, filterOciConfig), []),
        ),
      },
    },
  });
  const state = new RuntimeState();
  try {
    await podmanService.start();
    await chooseOciRuntime({ podman, podmanService, ociRuntimes, state, log, probing });
    state.ociPathsHook = podmanService.hooksInstalled;
  } catch (err) {
    await podmanService.stop();
    await podman.close();
    throw err;
  }

  // A node (config.node): its keeper and holder (made if missing, kept when we end), and the streaming server's end in it.
  let node: { netnsPath: string; holderPid: number; relay: StreamRelay } | undefined;
  // One per CRI socket: a second cri-podman serving a node on another socket must not take this one's.
  const streamSocket = `${runtimeDir}/cri-podman/streaming-${
    createHash("sha256").update(config.listen).digest("hex").slice(0, 12)
  }.sock`;
  if (config.node) {
    try {
      node = await startNode(
        config,
        { env: { ...host.env, XDG_RUNTIME_DIR: runtimeDir }, runtimeDir },
        streamSocket,
        log,
      );
    } catch (err) {
      await podmanService.stop();
      await podman.close();
      throw err;
    }
  }

  let streaming: StreamingServer;
  try {
    streaming = await startStreamingServer({
      address: config.streaming.address,
      port: config.streaming.port,
      ...(node ? { unixPath: streamSocket, advertisedPort: node.relay.port } : {}),
      tls,
      tokenTtlMs: config.streaming.token_ttl_seconds * 1000,
      idleTimeoutMs: config.streaming.idle_timeout_seconds * 1000,
      maxSessions: config.streaming.max_sessions,
      podman,
      log,
      portForwardSocketDir: `${runtimeDir}/cri-podman/portforward`,
      metrics,
    });
  } catch (err) {
    await node?.relay.stop();
    await podmanService.stop();
    await podman.close();
    if (err instanceof StartupError) throw err;
    throw new StartupError(
      `Cannot serve streams on ${config.streaming.address}:${config.streaming.port} (streaming.address, ` +
        `streaming.port): ${(err as Error).message}`,
      { cause: err },
    );
  }

  state.minOomScoreAdj = await ownOomScoreAdj();
  state.nodeHostname = hostname();
  if (node) {
    state.nodeNetns = node.netnsPath;
    state.nodeNetnsPid = node.holderPid;
  }
  const cache = new RuntimeCache(podman, log, metrics, config.pods.network);
  // GetContainerEvents: lifecycle events from the cache's changes; started before the feed's first full read.
  const containerEvents = new ContainerEventHub<ContainerEventMessage>({ log });
  const eventSource = new ContainerEventSource({
    cache,
    podman,
    hub: containerEvents,
    networkName: config.pods.network,
    log,
  }).start();
  const fsUsage = new FsUsageProbe();
  // List calls answer from the cache once the event stream is up and a full read completed.
  const images = new ImageCache(podman, log);
  const events = new EventFeed(cache, log, images).start(podman.events);
  const deps: ServiceDeps = {
    podman,
    config,
    log,
    state,
    cache,
    images,
    fsUsage,
    stats: new StatsCollector({ proc: new ProcReader(), fsUsage, podman }),
    ociRuntimes,
    podmanEmbedded: podmanService.embedded,
    streaming: streaming.urls,
    metrics,
    // Where Podman's image copies put their blobs: the service's $TMPDIR (an embedded one inherits ours), else /var/tmp.
    pullBytes: new PullBlobWatcher([host.env["TMPDIR"] ?? "", "/var/tmp"]),
    containerEvents,
  };
  const tracker = new CallTracker();
  let listener: UnixListener;
  try {
    listener = await serveCri(
      config.listen,
      [criService(RuntimeService, runtimeServiceHandlers), criService(ImageService, imageServiceHandlers)],
      deps,
      { tracker, onConnectionError: (err) => log.debug("connection closed on error", { error: err.message }) },
    );
  } catch (err) {
    await events.stop();
    await eventSource.stop();
    await streaming.stop();
    await node?.relay.stop();
    await podmanService.stop();
    await podman.close();
    throw new StartupError(`Cannot listen on "${config.listen}" (listen): ${(err as Error).message}`, { cause: err });
  }
  log.info("serving CRI", { socket: config.listen });

  const graceMs = config.shutdown_grace_seconds * 1000;
  let stopping: Promise<void> | undefined;
  return {
    config,
    log,
    podman,
    podmanService,
    listener,
    stop: () =>
      stopping ??= (async () => {
        log.info("stopping", { graceSeconds: config.shutdown_grace_seconds });
        // Open GetContainerEvents streams end now (UNAVAILABLE): they never end on their own and would hold the grace.
        containerEvents.close();
        await listener.close({
          graceMs,
          onGraceExpired: () => {
            const inFlight = tracker.inFlight();
            if (inFlight.length === 0) return;
            const cut = tracker.cut(FINISH_ON_SHUTDOWN);
            log.warn("shutdown grace passed with calls in flight: cutting the rest, finishing lifecycle changes", {
              graceSeconds: config.shutdown_grace_seconds,
              inFlight: describe(inFlight),
              cut: describe(cut),
            });
          },
        });
        if (!(await tracker.settled(FINISH_BOUND_MS))) {
          log.error("lifecycle changes still unfinished a minute after the grace: cutting them", {
            calls: describe(tracker.inFlight()),
          });
          tracker.cutAll();
          await tracker.settled(2_000);
        }
        await events.stop();
        await eventSource.stop();
        // Exec'd processes of sessions still open are ended, before Podman is.
        await streaming.stop();
        await node?.relay.stop();
        await podmanService.stop();
        await podman.close();
        log.info("stopped");
      })(),
  };
}

/**
 * How long lifecycle changes in flight may still take once the grace is over: a StopContainer waits out the
 * container's own stop timeout (kubelet's default termination grace is 30 s) before Podman kills it.
 */
const FINISH_BOUND_MS = 60_000;

/** The streaming server's TLS certificate and key, read from the configured PEM files (none: plain HTTP). */
async function readTls(config: Config): Promise<{ cert: string; key: string } | undefined> {
  const { tls_cert: certPath, tls_key: keyPath } = config.streaming;
  if (!certPath) return undefined;
  try {
    return { cert: await Deno.readTextFile(certPath), key: await Deno.readTextFile(keyPath) };
  } catch (err) {
    throw new StartupError(
      `Cannot read the streaming server's TLS files (streaming.tls_cert, streaming.tls_key): ${(err as Error).message}`,
      { cause: err },
    );
  }
}

function describe(calls: readonly CallSummary[]): string {
  return calls.map((c) => `${c.rpc} (${(c.ms / 1000).toFixed(1)} s)`).join(", ");
}

/**
 * A new storage gets native overlay when this kernel allows it and nothing configures the driver (see
 * host/storage.ts); an old vfs storage is kept, with a hint.
 */
async function chooseStorageDriver(env: Record<string, string>, log: Logger): Promise<void> {
  const paths = storagePaths(env);
  // The test mount goes where the storage will be: overlay's upper directory must live on that filesystem.
  const plan = planStorage(await readStorageFacts(paths, env, dirname(paths.graphRoot)));
  if (plan.action === "configure-overlay") {
    await writeOverlayStorageConf(paths.userConfig);
    log.info("configured Podman's storage driver: overlay", { file: paths.userConfig, reason: plan.reason });
  } else if (plan.hint) {
    log.warn("Podman's storage driver is slow", { driver: plan.driver, reason: plan.reason, hint: plan.hint });
  } else {
    log.debug("Podman's storage driver left as it is", { reason: plan.reason });
  }
}

/**
 * Makes sure Podman's OCI runtime can run containers on this host. When a probe container fails with the runtime
 * Podman is configured with (crun 1.8 on a hybrid cgroup host) and another installed runtime works, the embedded
 * Podman is restarted with `--runtime` that one; pods' infra containers take the service's runtime, so no
 * per-container setting could do it. A Podman we do not run is left alone, and Status says why pods cannot start.
 */
async function chooseOciRuntime(parts: {
  podman: PodmanPort;
  podmanService: PodmanService;
  ociRuntimes: OciRuntimeProbes;
  state: RuntimeState;
  log: Logger;
  probing: Promise<Array<{ verdict: { usable: boolean | "unknown" } }>>;
}): Promise<void> {
  const { podman, podmanService, ociRuntimes, state, log } = parts;
  const installed = await parts.probing;
  const info = () => state.cachedInfo(() => podman.system.info(), Date.now());
  if (installed.every((rt) => rt.verdict.usable !== false)) {
    info().catch(() => {}); // Status's first call wants it; nothing here does
    return;
  }
  const configured = (await info()).host.ociRuntime;
  if (!configured?.path) return;
  const verdict = await ociRuntimes.verdict(configured.path);
  if (verdict.usable !== false) return;
  const alternative = await ociRuntimes.firstUsable(configured.path);
  const name = configured.name ?? configured.path;
  if (podmanService.embedded && alternative) {
    log.warn("Podman's OCI runtime cannot run containers on this host: starting Podman with another one", {
      runtime: name,
      reason: verdict.reason,
      using: alternative.name,
    });
    state.ociRuntimeOverride = { from: name, to: alternative.name, reason: verdict.reason };
    await podmanService.restartWith(["--runtime", alternative.name]);
    state.forgetInfo();
    info().catch(() => {});
    return;
  }
  log.error("Podman's OCI runtime cannot run containers on this host: pods cannot start (see Status)", {
    runtime: name,
    reason: verdict.reason,
    ...(alternative ? { fix: `runtime = "${alternative.name}" under [engine] in containers.conf` } : {}),
  });
}

/**
 * Makes the node ready for serving it: its keeper and holder (see src/node/), the path of its network namespace for
 * host-network pods, and the relay that gives the streaming server (on `streamSocket`) its address in the node.
 */
async function startNode(
  config: Config,
  host: { env: Record<string, string>; runtimeDir: string },
  streamSocket: string,
  log: Logger,
): Promise<{ netnsPath: string; holderPid: number; relay: StreamRelay }> {
  const holder = await ensureNode(config, host);
  const netnsPath = await nodeNetnsPath(holder.pid, host.runtimeDir);
  if (netnsPath === undefined) {
    throw new StartupError("The node has no network namespace: Podman's rootless-netns file is missing");
  }
  const relay = await startStreamRelay({
    holder,
    address: config.streaming.address,
    port: config.streaming.port,
    socketPath: streamSocket,
    onExit: (detail) => log.error("the node's stream relay ended: streaming URLs do not answer", { detail }),
    onMessage: (line) => log.warn("the node's stream relay", { message: line }),
  });
  log.info("serving a node", { holder: holder.pid, netns: netnsPath, streamingPort: relay.port });
  return { netnsPath, holderPid: holder.pid, relay };
}
