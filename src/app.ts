/**
 * Wires the runtime: configuration → logger → Podman (found or started) → gRPC services on the CRI socket. The only
 * module that builds concrete objects.
 * @module
 */
import * as grpc from "@grpc/grpc-js";
import { hostname } from "node:os";
import type { Config } from "./config/schema.ts";
import type { ServiceDeps } from "./cri/context.ts";
import { imageServiceHandlers } from "./cri/image_service.ts";
import { EventFeed } from "./cri/event_feed.ts";
import { RuntimeCache } from "./cri/runtime_cache.ts";
import { RuntimeState } from "./cri/runtime_state.ts";
import { ownOomScoreAdj } from "./host/files.ts";
import { PodmanEventStream } from "./podman/events.ts";
import { runtimeServiceHandlers } from "./cri/runtime_service.ts";
import { ImageService, RuntimeService } from "./gen/runtime/v1/api_pb.ts";
import { addCriService } from "./grpc/server.ts";
import { listenUnix, type UnixListener } from "./grpc/unix_listener.ts";
import { FsUsageProbe } from "./host/fs_usage.ts";
import { createLogger, type Logger } from "./observability/log.ts";
import { connectPodman, type Podman } from "./podman/mod.ts";
import { PodmanService } from "./podman/service.ts";
import { CRI_PODMAN_VERSION } from "./version.ts";

/** A running cri-podman. */
export interface App {
  readonly config: Config;
  readonly log: Logger;
  readonly podman: Podman;
  readonly podmanService: PodmanService;
  readonly listener: UnixListener;
  /** Stops accepting, lets in-flight calls finish (bounded), removes the socket, stops an embedded Podman. */
  stop(): Promise<void>;
}

/** Starts cri-podman with `config`; rejects (cleaning up) when Podman or the socket cannot be had. */
export async function startApp(config: Config, opts: { log?: Logger } = {}): Promise<App> {
  const log = opts.log ?? createLogger({ level: config.log.level, format: config.log.format });
  log.info("starting cri-podman", { version: CRI_PODMAN_VERSION, listen: config.listen, podman: config.podman.socket });
  const podman = connectPodman(config.podman.socket, {
    requestTimeoutMs: config.podman.request_timeout_seconds * 1000,
  });
  const podmanService = new PodmanService(podman.system, {
    socketPath: config.podman.socket,
    embedded: config.podman.embedded_service,
    binary: config.podman.binary,
    startTimeoutMs: config.podman.start_timeout_seconds * 1000,
    log,
  });
  try {
    await podmanService.start();
  } catch (err) {
    await podmanService.stop();
    await podman.close();
    throw err;
  }

  const state = new RuntimeState();
  state.minOomScoreAdj = await ownOomScoreAdj();
  state.nodeHostname = hostname();
  const cache = new RuntimeCache(podman, log);
  // List calls answer from the cache once the event stream is up and a full read completed.
  const events = new PodmanEventStream(config.podman.socket, { types: ["container", "pod"], log });
  new EventFeed(cache, log).start(events);
  const deps: ServiceDeps = { podman, config, log, state, cache, fsUsage: new FsUsageProbe() };
  const server = new grpc.Server({
    "grpc.max_receive_message_length": 16 * 1024 * 1024,
    // ExecSync may answer 16 MiB of stdout plus 16 MiB of stderr (each capped there).
    "grpc.max_send_message_length": 40 * 1024 * 1024,
  });
  addCriService(server, RuntimeService, runtimeServiceHandlers, deps);
  addCriService(server, ImageService, imageServiceHandlers, deps);

  let listener: UnixListener;
  try {
    listener = await listenUnix(server, config.listen, {
      onConnectionError: (err) => log.debug("connection closed on error", { error: err.message }),
    });
  } catch (err) {
    server.forceShutdown();
    await events.stop();
    await podmanService.stop();
    await podman.close();
    throw err;
  }
  log.info("serving CRI", { socket: config.listen });

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
        await listener.close({ graceMs: config.shutdown_grace_seconds * 1000 });
        await events.stop();
        await podmanService.stop();
        await podman.close();
        log.info("stopped");
      })(),
  };
}
