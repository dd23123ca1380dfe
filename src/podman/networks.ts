/**
 * libpod network endpoints (netavark bridge networks in rootless Podman's network namespace).
 * @module
 */
import { unlessNotFound } from "./errors.ts";
import type { PodmanHttp } from "./client.ts";
import type { CallOptions, NetworksPort } from "./port.ts";
import type { LibpodNetwork } from "./types.ts";

/** Network operations on one Podman. */
export class PodmanNetworks implements NetworksPort {
  readonly #http: PodmanHttp;

  /** Wraps a libpod HTTP client. */
  constructor(http: PodmanHttp) {
    this.#http = http;
  }

  /** Inspects a network; `undefined` when it does not exist. */
  async inspect(name: string, opts: CallOptions = {}): Promise<LibpodNetwork | undefined> {
    const res = await unlessNotFound(
      this.#http.json<LibpodNetwork>(
        `Cannot inspect network "${name}"`,
        "GET",
        `/networks/${encodeURIComponent(name)}/json`,
        { signal: opts.signal },
      ),
    );
    return res?.body;
  }

  /** Creates a bridge network with one subnet. */
  async createBridge(
    name: string,
    subnet: string,
    labels: Record<string, string>,
    opts: CallOptions = {},
  ): Promise<LibpodNetwork> {
    const res = await this.#http.json<LibpodNetwork>(`Cannot create network "${name}"`, "POST", "/networks/create", {
      body: { name, driver: "bridge", subnets: [{ subnet }], labels },
      signal: opts.signal,
    });
    return res.body;
  }

  /** Removes a network; absent networks count as removed. A network in use (409) is reason "in-use". */
  async remove(name: string, opts: CallOptions = {}): Promise<void> {
    await unlessNotFound(
      this.#http.json(`Cannot remove network "${name}"`, "DELETE", `/networks/${encodeURIComponent(name)}`, {
        signal: opts.signal,
      }),
    );
  }
}
