/**
 * libpod pod endpoints: create, start, stop, remove, inspect, list.
 * @module
 */
import { unlessNotFound } from "./errors.ts";
import type { PodmanHttp } from "./client.ts";
import type { CallOptions, PodsPort } from "./port.ts";
import type { LibpodPodInspect, LibpodPodListItem, LibpodPodSpec } from "./types.ts";

/** Pod operations on one Podman. */
export class PodmanPods implements PodsPort {
  readonly #http: PodmanHttp;

  /** Wraps a libpod HTTP client. */
  constructor(http: PodmanHttp) {
    this.#http = http;
  }

  /** Creates a pod (with its infra container, not started) and returns its ID; a taken name (409) is "name-in-use". */
  async create(spec: LibpodPodSpec, opts: CallOptions = {}): Promise<string> {
    const res = await this.#http.json<{ Id: string }>(`Cannot create pod "${spec.name}"`, "POST", "/pods/create", {
      body: spec,
      signal: opts.signal,
    });
    return res.body.Id;
  }

  /** Starts every container of the pod, the infra container first. */
  async start(id: string, opts: CallOptions = {}): Promise<void> {
    // 304: already running.
    await this.#http.json(`Cannot start pod "${id}"`, "POST", `/pods/${encodeURIComponent(id)}/start`, {
      signal: opts.signal,
      okStatuses: [304],
    });
  }

  /**
   * Stops every container of the pod at once: SIGKILL, then a stop that lets Podman finish its clean-up (network
   * teardown). Podman 4.3 reads `t=0` as "the default 10 s", hence the kill. Absent or stopped pods count as stopped.
   */
  async kill(id: string, opts: CallOptions = {}): Promise<void> {
    const path = `/pods/${encodeURIComponent(id)}`;
    // 409: no running container left to kill.
    await unlessNotFound(
      this.#http.json(`Cannot kill pod "${id}"`, "POST", `${path}/kill`, {
        query: { signal: "SIGKILL" },
        signal: opts.signal,
        okStatuses: [409],
      }),
    );
    await unlessNotFound(
      this.#http.json(`Cannot stop pod "${id}"`, "POST", `${path}/stop`, {
        query: { t: 1 },
        signal: opts.signal,
        okStatuses: [304],
      }),
    );
  }

  /** Removes the pod and all of its containers at once, running or not; absent pods count as removed. */
  async remove(id: string, opts: CallOptions = {}): Promise<void> {
    // `timeout=0`, not `t=0`: Podman 4.3 reads t=0 as "the default 10 s".
    await unlessNotFound(
      this.#http.json(`Cannot remove pod "${id}"`, "DELETE", `/pods/${encodeURIComponent(id)}`, {
        query: { force: true, timeout: 0 },
        signal: opts.signal,
      }),
    );
  }

  /** Inspects a pod by ID, ID prefix or name; `undefined` when it does not exist. */
  async inspect(id: string, opts: CallOptions = {}): Promise<LibpodPodInspect | undefined> {
    const res = await unlessNotFound(
      this.#http.json<LibpodPodInspect>(`Cannot inspect pod "${id}"`, "GET", `/pods/${encodeURIComponent(id)}/json`, {
        signal: opts.signal,
      }),
    );
    return res?.body;
  }

  /** Lists pods carrying every `key=value` label given, optionally only the given IDs. */
  async list(labels: readonly string[], opts: CallOptions & { ids?: string[] } = {}): Promise<LibpodPodListItem[]> {
    const filters: Record<string, readonly string[]> = { label: labels };
    if (opts.ids) filters["id"] = opts.ids;
    const res = await this.#http.json<LibpodPodListItem[] | null>("Cannot list pods", "GET", "/pods/json", {
      query: { filters: JSON.stringify(filters) },
      signal: opts.signal,
    });
    return res.body ?? [];
  }
}
