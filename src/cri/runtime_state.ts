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
  #info: { value: LibpodInfo; at: number } | undefined;

  /** Returns Podman's info, fetching it at most once per `maxAgeMs` (GET /libpod/info costs ~200 ms). */
  async cachedInfo(fetch: () => Promise<LibpodInfo>, now: number, maxAgeMs = 30_000): Promise<LibpodInfo> {
    if (this.#info && now - this.#info.at < maxAgeMs) return this.#info.value;
    const value = await fetch();
    this.#info = { value, at: now };
    return value;
  }
}
