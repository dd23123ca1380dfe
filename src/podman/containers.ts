/**
 * libpod container endpoints: create, start, stop, remove, list, inspect, update.
 * @module
 */
import { isPodmanFailure, unlessNotFound } from "./errors.ts";
import type { PodmanHttp } from "./client.ts";
import { HijackedStream } from "./hijacked.ts";
import type { CallOptions, ContainersPort } from "./port.ts";
import type { LibpodContainerInspect, LibpodContainerListItem, LibpodContainerSpec } from "./types.ts";

/** Reads of a container inspect makes when its process exits under Podman (see `inspect`). */
const INSPECT_ATTEMPTS = 3;

/** Options of {@link PodmanContainers.attach}. */
export interface AttachOptions {
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  signal?: AbortSignal | undefined;
}

/** An attachment to a container's main process. */
export interface AttachStream {
  /** What the process writes (raw with a TTY, 8-byte-framed stdout/stderr without). */
  output(): AsyncIterable<Uint8Array>;
  /** Writes to the process's stdin (back-pressure). */
  write(chunk: Uint8Array): Promise<void>;
  /** Ends the attachment's stdin. */
  endInput(): void;
  /** Sets the container's terminal size. */
  resize(size: { width: number; height: number }): Promise<void>;
  /** Detaches. */
  close(): Promise<void>;
}

/** Container operations on one Podman. */
export class PodmanContainers implements ContainersPort {
  readonly #http: PodmanHttp;

  /** Wraps a libpod HTTP client. */
  constructor(http: PodmanHttp) {
    this.#http = http;
  }

  /** Creates a container (not started) and returns its ID; a taken name (Podman 4.3: 500) is reason "name-in-use". */
  async create(spec: LibpodContainerSpec, opts: CallOptions = {}): Promise<string> {
    const res = await this.#http.json<{ Id: string }>(
      `Cannot create container "${spec.name}"`,
      "POST",
      "/containers/create",
      { body: spec, signal: opts.signal },
    );
    return res.body.Id;
  }

  /** Starts a container; one already running is fine (304). */
  async start(id: string, opts: CallOptions = {}): Promise<void> {
    await this.#http.json(`Cannot start container "${id}"`, "POST", `/containers/${encodeURIComponent(id)}/start`, {
      signal: opts.signal,
      okStatuses: [304],
    });
  }

  /**
   * Stops a container: its stop signal, then SIGKILL after `timeoutSeconds`. Stopped (304) or absent (404)
   * containers count as stopped. True for 204: Podman stopped it in this call, and its stop ran the clean-up too.
   */
  async stop(id: string, opts: CallOptions & { timeoutSeconds: number }): Promise<boolean> {
    const res = await unlessNotFound(
      this.#http.json(`Cannot stop container "${id}"`, "POST", `/containers/${encodeURIComponent(id)}/stop`, {
        query: { timeout: opts.timeoutSeconds },
        signal: opts.signal,
        okStatuses: [304],
      }),
    );
    return res?.status === 204;
  }

  /** Removes a container, killing it first if it runs; absent containers count as removed. */
  async remove(id: string, opts: CallOptions = {}): Promise<void> {
    // `timeout=0`: Podman 4.3 ignores `t` here and would wait 10 s (measured: 10 s with t=0, 48 ms with timeout=0).
    await unlessNotFound(
      this.#http.json(`Cannot remove container "${id}"`, "DELETE", `/containers/${encodeURIComponent(id)}`, {
        query: { force: true, timeout: 0 },
        signal: opts.signal,
      }),
    );
  }

  /** Lists containers (all states) carrying every `key=value` label given, optionally only given IDs or pods. */
  async list(
    labels: readonly string[],
    opts: CallOptions & { ids?: string[]; pods?: string[] } = {},
  ): Promise<LibpodContainerListItem[]> {
    const filters: Record<string, readonly string[]> = { label: labels };
    if (opts.ids) filters["id"] = opts.ids;
    if (opts.pods) filters["pod"] = opts.pods;
    const res = await this.#http.json<LibpodContainerListItem[] | null>(
      "Cannot list containers",
      "GET",
      "/containers/json",
      {
        query: { all: true, filters: JSON.stringify(filters) },
        signal: opts.signal,
      },
    );
    return res.body ?? [];
  }

  /** Inspects a container by ID, ID prefix or name; `undefined` when it does not exist. */
  async inspect(id: string, opts: CallOptions = {}): Promise<LibpodContainerInspect | undefined> {
    // A container whose process exits while Podman reads it fails the read once ("process-gone", seen 1 run in ~5 of
    // the suite on a start read-back); Podman has the exit on the next read.
    for (let attempt = 1;; attempt++) {
      try {
        const res = await unlessNotFound(
          this.#http.json<LibpodContainerInspect>(
            `Cannot inspect container "${id}"`,
            "GET",
            `/containers/${encodeURIComponent(id)}/json`,
            { signal: opts.signal },
          ),
        );
        return res?.body;
      } catch (err) {
        if (attempt >= INSPECT_ATTEMPTS || !isPodmanFailure(err, "process-gone")) throw err;
        await new Promise((resolve) => setTimeout(resolve, 10 * attempt));
      }
    }
  }

  /**
   * Attaches to a running container's main process: its stdin (when asked and the container keeps it open), stdout
   * and stderr, raw with a TTY, 8-byte-framed without.
   */
  async attach(id: string, opts: AttachOptions): Promise<AttachStream> {
    const what = `Cannot attach to container "${id}"`;
    const path = `/containers/${encodeURIComponent(id)}`;
    const query = new URLSearchParams({
      stream: "true",
      logs: "false",
      stdin: String(opts.stdin),
      stdout: String(opts.stdout),
      stderr: String(opts.stderr),
    });
    const upgraded = await this.#http.upgrade(what, `${path}/attach?${query}`, undefined, { signal: opts.signal });
    return Object.assign(new HijackedStream(upgraded.socket, upgraded.close), {
      resize: async (size: { width: number; height: number }) => {
        await this.#http.json(`Cannot resize container "${id}"`, "POST", `${path}/resize`, {
          query: { h: size.height, w: size.width },
          okStatuses: [201],
        });
      },
    });
  }

  /** Applies new OCI resources to a running container (needs cgroups). */
  async update(id: string, resources: Record<string, unknown>, opts: CallOptions = {}): Promise<void> {
    await this.#http.json(`Cannot update container "${id}"`, "POST", `/containers/${encodeURIComponent(id)}/update`, {
      body: resources,
      signal: opts.signal,
    });
  }
}
