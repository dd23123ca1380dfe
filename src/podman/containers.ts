/**
 * libpod container endpoints.
 * @module
 */
import { ignoreNotFound } from "../errors.ts";
import type { PodmanHttp } from "./client.ts";
import type { CallOptions } from "./images.ts";
import type { LibpodContainerInspect } from "./types.ts";

/** Container operations on one Podman. */
export class PodmanContainers {
  readonly #http: PodmanHttp;

  /** Wraps a libpod HTTP client. */
  constructor(http: PodmanHttp) {
    this.#http = http;
  }

  /** Inspects a container by ID, ID prefix or name; `undefined` when it does not exist. */
  async inspect(id: string, opts: CallOptions = {}): Promise<LibpodContainerInspect | undefined> {
    const res = await ignoreNotFound(
      this.#http.json<LibpodContainerInspect>(
        `Cannot inspect container "${id}"`,
        "GET",
        `/containers/${encodeURIComponent(id)}/json`,
        { signal: opts.signal },
      ),
    );
    return res?.body;
  }
}
