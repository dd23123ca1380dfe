/**
 * Runtime facts that are not Podman objects: what kubelet told us through UpdateRuntimeConfig, and cached answers of
 * slow Podman probes. Everything here can be rebuilt from Podman or is re-sent by kubelet.
 * @module
 */
import type { LibpodInfo } from "../podman/types.ts";

/** Mutable runtime state shared by handlers. */
export class RuntimeState {
  /** The pod CIDR from the last UpdateRuntimeConfig, or "" before kubelet sent one. */
  podCidr = "";
  /** When (performance.now()) the pod network and its keeper were last seen in place; see ensurePodNetwork. */
  podNetworkCheckedAt = Number.NEGATIVE_INFINITY;
  /** The node's host name (for pods that name none). */
  nodeHostname = "";
  /** The node's network namespace file (config.node), which host-network pods join; "" when not serving a node. */
  nodeNetns = "";
  /** A process in the node's network namespace (its holder), for port-forwards into host-network pods; 0 without. */
  nodeNetnsPid = 0;
  /** This process's own oom_score_adj: the lowest an unprivileged user may give a container. */
  minOomScoreAdj = 0;
  /**
   * Whether Podman runs our OCI hook for custom read-only and masked paths (translate/oci_paths_hook.ts): true when
   * cri-podman started the service itself, with the hook in its hooks directory.
   */
  ociPathsHook = false;
  #info: { value: LibpodInfo; at: number } | undefined;
  #infoFetch: Promise<LibpodInfo> | undefined;
  readonly #queues = new Map<string, Promise<unknown>>();
  /** Resources kubelet last sent through UpdatePodSandboxResources, per sandbox (best effort, not persisted). */
  readonly sandboxResources = new Map<string, unknown>();
  /** What the embedded Podman was told to use instead of its configured OCI runtime, and why (for Status verbose). */
  ociRuntimeOverride: { from: string; to: string; reason: string } | undefined;

  /** Runs `fn` after every earlier call with the same `key` has settled: a mutex per key. */
  serialize<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.#queues.get(key) ?? Promise.resolve();
    const run = previous.then(fn, fn);
    const tail = run.catch(() => {});
    this.#queues.set(key, tail);
    tail.then(() => {
      if (this.#queues.get(key) === tail) this.#queues.delete(key);
    });
    return run;
  }

  /**
   * Returns Podman's info, fetching it at most once per `maxAgeMs` (GET /libpod/info costs ~200 ms); callers that
   * arrive while a fetch runs share it, or get the previous answer when there is one.
   */
  cachedInfo(fetch: () => Promise<LibpodInfo>, now: number, maxAgeMs = 30_000): Promise<LibpodInfo> {
    if (this.#info && now - this.#info.at < maxAgeMs) return Promise.resolve(this.#info.value);
    this.#infoFetch ??= fetch().then((value) => {
      this.#info = { value, at: now };
      return value;
    }).finally(() => {
      this.#infoFetch = undefined;
    });
    // Stale facts now beat fresh ones later: the host's cgroups, graph root and runtime seldom change, and Status must
    // answer within its budget even when GET /libpod/info is slow (seconds under load). Only a first read waits.
    if (this.#info) {
      this.#infoFetch.catch(() => {});
      return Promise.resolve(this.#info.value);
    }
    return this.#infoFetch;
  }

  /** Forgets the cached info (Podman was restarted with other settings). */
  forgetInfo(): void {
    this.#info = undefined;
  }
}
