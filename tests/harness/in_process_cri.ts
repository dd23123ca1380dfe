/**
 * cri-podman's handlers in-process, on the fake Podman: calls go through the same generic adapter kubelet's calls
 * take (grpc/dispatch.ts: context, cancellation, deadline, decoding, error mapping), with requests and responses
 * encoded to protobuf bytes and back as on the wire — only HTTP/2 and the socket are left out. For unit tests: no
 * Podman, no socket, no network.
 * @module
 */
import type { GenService, GenServiceMethods } from "@bufbuild/protobuf/codegenv2";
import type { status as GrpcStatus } from "@grpc/grpc-js";
import { resolveConfig } from "../../src/config/load.ts";
import type { Config } from "../../src/config/schema.ts";
import type { ServiceDeps } from "../../src/cri/context.ts";
import { EventFeed } from "../../src/cri/event_feed.ts";
import { ContainerEventHub } from "../../src/cri/container_events.ts";
import { type ContainerEventMessage, ContainerEventSource } from "../../src/cri/container_event_source.ts";
import { imageServiceHandlers } from "../../src/cri/image_service.ts";
import { ImageCache } from "../../src/cri/image_cache.ts";
import { RuntimeCache } from "../../src/cri/runtime_cache.ts";
import { runtimeServiceHandlers } from "../../src/cri/runtime_service.ts";
import { RuntimeState } from "../../src/cri/runtime_state.ts";
import { StatsCollector } from "../../src/cri/stats/collector.ts";
import { FakeProc } from "../fake_proc.ts";
import { ImageService, RuntimeService } from "../../src/gen/runtime/v1/api_pb.ts";
import { CallTracker } from "../../src/grpc/call_tracker.ts";
import { bindMethods, dispatchServerStreaming, dispatchUnary } from "../../src/grpc/dispatch.ts";
import { toGrpcServiceDefinition } from "../../src/grpc/service_definition.ts";
import { createLogger } from "../../src/observability/log.ts";
import type { OciRuntimeVerdict } from "../../src/host/oci_runtime.ts";
import { FakePodman } from "../fake_podman.ts";
import { TokenStore } from "../../src/streaming/urls.ts";
import type { UnaryClient } from "./cri_client.ts";

/** Per-call options of the in-process client. */
export interface InProcessCallOptions {
  /** Deadline from now, in ms (default 10 s). */
  timeoutMs?: number;
  /** Aborting it is the client cancelling the call. */
  signal?: AbortSignal;
}

/** The error an in-process call rejects with: what a grpc-js client would see. */
export interface InProcessCallError extends Error {
  code: GrpcStatus;
  details: string;
}

/** One async method per unary RPC of `S`. */
export type InProcessUnaryClient<S extends GenServiceMethods> = UnaryClient<S, InProcessCallOptions>;

/** Handlers on a fake Podman, and a client for them. */
export interface InProcessCri {
  readonly fake: FakePodman;
  readonly deps: ServiceDeps;
  readonly state: RuntimeState;
  readonly cache: RuntimeCache;
  /** GetContainerEvents' hub and the source that feeds it from the cache's changes. */
  readonly containerEvents: { hub: ContainerEventHub<ContainerEventMessage>; source: ContainerEventSource };
  readonly tracker: CallTracker;
  /** The tokens Exec, Attach and PortForward issued (their URLs are `http://127.0.0.1:10350/<kind>/<token>`). */
  readonly tokens: TokenStore;
  /** Every log line, in order. */
  readonly logs: string[];
  readonly runtime: InProcessUnaryClient<typeof RuntimeService.method>;
  readonly image: InProcessUnaryClient<typeof ImageService.method>;
  /** Collects a server-streaming RPC into its messages. */
  stream<T>(service: "runtime" | "image", localName: string, req?: unknown, opts?: InProcessCallOptions): Promise<T[]>;
  /** Waits until the event feed has fed every event so far into the cache (events are delivered in microtasks). */
  settle(): Promise<void>;
  /** Stops the event feed. */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Options of {@link startInProcessCri}. */
export interface InProcessOptions {
  /** A fake to use (default: a new, empty one). */
  fake?: FakePodman;
  /** Configuration file text (TOML) on top of the defaults, e.g. `[runtime_handlers]\nkata = "kata"`. */
  configToml?: string;
  /** The OCI runtime verdicts Status sees, by runtime path (default: every runtime works). */
  ociRuntimes?: Record<string, OciRuntimeVerdict>;
  /** Whether cri-podman runs Podman itself (default true). */
  podmanEmbedded?: boolean;
  /** Feed Podman's events into the List cache (default true); false leaves the cache unsynced. */
  events?: boolean;
  /** Feed image events into the image cache (default true); false leaves it unsynced, so lookups ask Podman. */
  imageCache?: boolean;
  /** The process table the stats RPCs read (default: an empty fake). */
  proc?: FakeProc;
}

/** Starts the handlers on a fake Podman: a RuntimeState, a List cache fed by the fake's events, a client. */
export async function startInProcessCri(opts: InProcessOptions = {}): Promise<InProcessCri> {
  const fake = opts.fake ?? new FakePodman();
  const logs: string[] = [];
  const log = createLogger({ level: "debug", format: "text", write: (line) => logs.push(line) });
  const config: Config = resolveConfig({
    runtimeDir: "/run/user/1000",
    env: {},
    ...(opts.configToml ? { file: { path: "test.toml", text: opts.configToml } } : {}),
  });
  const state = new RuntimeState();
  state.nodeHostname = "node-1";
  const cache = new RuntimeCache(fake, log, undefined, config.pods.network);
  const images = new ImageCache(fake, log);
  const verdicts = opts.ociRuntimes ?? {};
  const tokens = new TokenStore(60_000);
  const hub = new ContainerEventHub<ContainerEventMessage>({ log });
  const source = new ContainerEventSource({ cache, podman: fake, hub, networkName: config.pods.network, log }).start();
  const deps: ServiceDeps = {
    podman: fake,
    config,
    log,
    state,
    cache,
    images,
    fsUsage: {
      usage: () => Promise.resolve({ usedBytes: 4096n, inodesUsed: 7n, unreadableDirs: 0, timestampMs: Date.now() }),
    },
    ociRuntimes: {
      verdict: (path) => Promise.resolve(verdicts[path] ?? { usable: true }),
      firstUsable: (except) => {
        const path = Object.keys(verdicts).find((p) => p !== except && verdicts[p]?.usable === true);
        return Promise.resolve(path ? { name: path.split("/").pop()!, path } : undefined);
      },
    },
    podmanEmbedded: opts.podmanEmbedded ?? true,
    stats: new StatsCollector({
      proc: opts.proc ?? new FakeProc(),
      fsUsage: {
        usage: () => Promise.resolve({ usedBytes: 4096n, inodesUsed: 7n, unreadableDirs: 0, timestampMs: Date.now() }),
      },
      podman: fake,
    }),
    streaming: { url: (request) => `http://127.0.0.1:10350/${request.kind}/${tokens.issue(request)}` },
    containerEvents: hub,
  };
  const feed = opts.events === false
    ? undefined
    : new EventFeed(cache, log, opts.imageCache === false ? undefined : images).start(fake.events);
  if (feed) await waitUntil(() => cache.synced);
  const tracker = new CallTracker();
  const runtime = clientFor(RuntimeService, runtimeServiceHandlers as never, deps, tracker);
  const image = clientFor(ImageService, imageServiceHandlers as never, deps, tracker);
  const close = async () => {
    await feed?.stop();
    hub.close();
    await source.stop();
  };
  return {
    fake,
    deps,
    state,
    cache,
    containerEvents: { hub, source },
    tracker,
    tokens,
    logs,
    runtime: runtime.unary as InProcessCri["runtime"],
    image: image.unary as InProcessCri["image"],
    stream: <T>(service: "runtime" | "image", localName: string, req: unknown = {}, callOpts = {}) =>
      (service === "runtime" ? runtime : image).stream(localName, req, callOpts) as Promise<T[]>,
    settle: async () => {
      // Events are queued as microtasks and each refresh is a few awaits on the fake: a few macrotask turns drain it.
      for (let i = 0; i < 5; i++) await new Promise((resolve) => setTimeout(resolve, 0));
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}

function clientFor<S extends GenServiceMethods>(
  service: GenService<S>,
  handlers: Parameters<typeof bindMethods<S>>[1],
  deps: ServiceDeps,
  tracker: CallTracker,
) {
  // The (de)serializers grpc-js uses on both sides: the server's lenient request decoder included.
  const definition = toGrpcServiceDefinition(service) as unknown as Record<string, {
    requestSerialize(value: unknown): Uint8Array;
    requestDeserialize(bytes: Uint8Array): unknown;
    responseSerialize(value: unknown): Uint8Array;
    responseDeserialize(bytes: Uint8Array): unknown;
  }>;
  const unary: Record<string, unknown> = {};
  const byName = new Map(bindMethods(service, handlers).map((m) => [m.localName, m]));
  const request = (localName: string, req: unknown) => {
    const codec = definition[localName]!;
    return codec.requestDeserialize(req instanceof Uint8Array ? req : codec.requestSerialize(req));
  };
  const response = (localName: string, message: unknown) => {
    const codec = definition[localName]!;
    return codec.responseDeserialize(codec.responseSerialize(message));
  };
  for (const [localName, bound] of byName) {
    if (bound.kind !== "unary") continue;
    unary[localName] = async (req: unknown = {}, opts: InProcessCallOptions = {}) => {
      const outcome = await dispatchUnary(bound, request(localName, req), control(opts), { deps, tracker });
      if ("failure" in outcome) throw callError(outcome.failure.code, outcome.failure.details);
      return response(localName, outcome.response);
    };
  }
  const stream = async (localName: string, req: unknown, opts: InProcessCallOptions) => {
    const bound = byName.get(localName);
    if (bound?.kind !== "server_streaming") throw new Error(`${localName} is not a server-streaming RPC`);
    const out: unknown[] = [];
    const failure = await dispatchServerStreaming(bound, request(localName, req), control(opts), (m) => {
      out.push(response(localName, m));
      return Promise.resolve();
    }, { deps, tracker });
    if (failure) throw callError(failure.code, failure.details);
    return out;
  };
  return { unary, stream };
}

function control(opts: InProcessCallOptions) {
  return {
    cancelled: opts.signal ?? new AbortController().signal,
    deadlineMs: Date.now() + (opts.timeoutMs ?? 10_000),
  };
}

function callError(code: GrpcStatus, details: string): InProcessCallError {
  return Object.assign(new Error(`${code} ${details}`), { code, details });
}

async function waitUntil(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 100 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 0));
  if (!condition()) throw new Error("the fake's event feed did not sync the cache");
}
