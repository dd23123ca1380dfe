/**
 * The Podman port: the narrow interfaces cri/ depends on, one per libpod endpoint group. `app.ts` alone builds the
 * real one (`connectPodman()`, over libpod's REST socket); tests run every handler on a stateful fake of it
 * (`tests/fake_podman/`). Every method rejects with a {@link PodmanError} whose reason says why; absent objects are
 * `undefined` from inspect and no-ops for stop and remove, as the descriptions say.
 * @module
 */
import type { PodmanEventHandlers } from "./events.ts";
import type { AttachOptions, AttachStream } from "./containers.ts";
import type { ExecOpenOptions, ExecRunOptions, ExecRunResult, ExecStream } from "./exec.ts";
import type {
  LibpodContainerInspect,
  LibpodContainerListItem,
  LibpodContainerSpec,
  LibpodImageInspect,
  LibpodImageSummary,
  LibpodInfo,
  LibpodNetwork,
  LibpodPodInspect,
  LibpodPodListItem,
  LibpodPodSpec,
  LibpodVersion,
  RegistryCredentials,
} from "./types.ts";

export type { PodmanError, PodmanFailure } from "./errors.ts";

/** Options every call takes: the CRI call's cancellation and deadline. */
export interface CallOptions {
  signal?: AbortSignal | undefined;
}

/** `/libpod/_ping`, `/version`, `/info`. */
export interface SystemPort {
  /** Resolves when Podman answers `_ping` with OK. */
  ping(opts?: CallOptions): Promise<void>;
  /** Podman's version answer. */
  version(opts?: CallOptions): Promise<LibpodVersion>;
  /** Podman's host facts (slow: ~200 ms of host probing). */
  info(opts?: CallOptions): Promise<LibpodInfo>;
}

/** Image endpoints. */
export interface ImagesPort {
  /** Every stored image. */
  list(opts?: CallOptions): Promise<LibpodImageSummary[]>;
  /** The image a name or ID (prefix) names; undefined when none is stored. */
  inspect(nameOrId: string, opts?: CallOptions): Promise<LibpodImageInspect | undefined>;
  /** Pulls `reference` and returns the image ID. */
  pull(
    reference: string,
    opts?: CallOptions & { credentials?: RegistryCredentials; tlsVerify?: boolean },
  ): Promise<string>;
  /** Removes the image with all its `names`; absent is removed; in use is reason "in-use", image unchanged. */
  removeById(id: string, names: readonly string[], opts?: CallOptions): Promise<void>;
}

/** Pod endpoints. */
export interface PodsPort {
  /** Creates a pod with its infra container (not started); returns its ID. A taken name is "name-in-use". */
  create(spec: LibpodPodSpec, opts?: CallOptions): Promise<string>;
  /** Starts every container of the pod, the infra container first; already running is fine. */
  start(id: string, opts?: CallOptions): Promise<void>;
  /** Kills every container of the pod and lets Podman clean up; absent or stopped pods count as stopped. */
  kill(id: string, opts?: CallOptions): Promise<void>;
  /** Removes the pod with all its containers, running or not; absent pods count as removed. */
  remove(id: string, opts?: CallOptions): Promise<void>;
  /** The pod an ID, ID prefix or name names; undefined when none. */
  inspect(id: string, opts?: CallOptions): Promise<LibpodPodInspect | undefined>;
  /** Pods carrying every `key=value` label given, optionally only the given IDs. */
  list(labels: readonly string[], opts?: CallOptions & { ids?: string[] }): Promise<LibpodPodListItem[]>;
}

/** Container endpoints. */
export interface ContainersPort {
  /** Creates a container (not started); returns its ID. A taken name is "name-in-use". */
  create(spec: LibpodContainerSpec, opts?: CallOptions): Promise<string>;
  /** Starts a container; already running is fine. */
  start(id: string, opts?: CallOptions): Promise<void>;
  /**
   * Stop signal, then SIGKILL after `timeoutSeconds`; stopped or absent containers count as stopped. True when this
   * call stopped it (Podman then also ran its clean-up: network released, storage unmounted), false when it was not
   * running or is absent.
   */
  stop(id: string, opts: CallOptions & { timeoutSeconds: number }): Promise<boolean>;
  /** Removes a container, killing it first if it runs; absent containers count as removed. */
  remove(id: string, opts?: CallOptions): Promise<void>;
  /** Containers (all states) carrying every `key=value` label given, optionally only given IDs or pods. */
  list(
    labels: readonly string[],
    opts?: CallOptions & { ids?: string[]; pods?: string[] },
  ): Promise<LibpodContainerListItem[]>;
  /** The container an ID, ID prefix or name names; undefined when none. */
  inspect(id: string, opts?: CallOptions): Promise<LibpodContainerInspect | undefined>;
  /** Applies new OCI resources to a running container (needs cgroups). */
  update(id: string, resources: Record<string, unknown>, opts?: CallOptions): Promise<void>;
  /** Attaches to a running container's main process (hijacked stream). */
  attach(id: string, opts: AttachOptions): Promise<AttachStream>;
}

/** Network endpoints. */
export interface NetworksPort {
  /** The network of that name; undefined when none. */
  inspect(name: string, opts?: CallOptions): Promise<LibpodNetwork | undefined>;
  /** Creates a bridge network with one subnet; a taken name is "name-in-use", a used subnet "subnet-overlap". */
  createBridge(
    name: string,
    subnet: string,
    labels: Record<string, string>,
    opts?: CallOptions,
  ): Promise<LibpodNetwork>;
  /** Removes a network; absent networks count as removed; one in use is "in-use". */
  remove(name: string, opts?: CallOptions): Promise<void>;
}

/** Running a command in a container to completion. */
export interface ExecPort {
  /** Runs `argv` in the container; a stopped container is "not-running", an absent one "not-found". */
  run(containerId: string, argv: readonly string[], opts?: ExecRunOptions): Promise<ExecRunResult>;
  /** Starts `argv` with streams the caller drives (hijacked): the streaming server's exec. */
  open(containerId: string, argv: readonly string[], opts: ExecOpenOptions): Promise<ExecStream>;
}

/** A running subscription to Podman's events. */
export interface EventSubscription {
  /** Ends it; resolves once no handler will be called any more. */
  stop(): Promise<void>;
}

/** Podman's event stream. */
export interface EventsPort {
  /**
   * Subscribes to events of `types`: `onConnected` after each (re)connection (rebuild state then), `onEvent` per
   * event, in order, `onDisconnected` when the stream broke. Reconnects by itself until stopped.
   */
  subscribe(types: readonly string[], handlers: PodmanEventHandlers): EventSubscription;
}

/** One Podman service, by endpoint group: what handlers get as `ctx.podman`. */
export interface PodmanPort {
  readonly system: SystemPort;
  readonly images: ImagesPort;
  readonly pods: PodsPort;
  readonly containers: ContainersPort;
  readonly networks: NetworksPort;
  readonly exec: ExecPort;
  readonly events: EventsPort;
  /** Closes every connection. */
  close(): Promise<void>;
}
