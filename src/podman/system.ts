/**
 * libpod system endpoints: ping, version, info, disk usage.
 * @module
 */
import { PodmanError } from "./errors.ts";
import type { PodmanHttp } from "./client.ts";
import type { SystemPort } from "./port.ts";
import type { LibpodInfo, LibpodVersion } from "./types.ts";

/** The oldest libpod API cri-podman works with. */
export const MIN_LIBPOD_API: readonly [number, number] = [4, 3];

/** System calls on one Podman. */
export class PodmanSystem implements SystemPort {
  readonly #http: PodmanHttp;

  /** Wraps a libpod HTTP client. */
  constructor(http: PodmanHttp) {
    this.#http = http;
  }

  /** Resolves when Podman answers `_ping` with OK. */
  async ping(opts: { signal?: AbortSignal } = {}): Promise<void> {
    const res = await this.#http.text("Cannot reach Podman", "GET", "/_ping", opts);
    if (res.status !== 200) {
      throw new PodmanError("unreachable", `Podman answered _ping with ${res.status}`, { status: res.status });
    }
  }

  /** `GET /libpod/version`. */
  async version(opts: { signal?: AbortSignal } = {}): Promise<LibpodVersion> {
    return (await this.#http.json<LibpodVersion>("Cannot read Podman's version", "GET", "/version", opts)).body;
  }

  /** `GET /libpod/info`: slow (~200 ms of host probing), keep it off hot paths. */
  async info(opts: { signal?: AbortSignal } = {}): Promise<LibpodInfo> {
    return (await this.#http.json<LibpodInfo>("Cannot read Podman's info", "GET", "/info", opts)).body;
  }
}

/** Reads the libpod API version from a version answer, e.g. "4.3.1". */
export function libpodApiVersion(v: LibpodVersion): string | undefined {
  const engine = v.Components?.find((c) => c.Name === "Podman Engine");
  return engine?.Details?.["APIVersion"] ?? v.ApiVersion ?? v.Version;
}

/** Tells whether `version` ("4.3.1") is at least {@link MIN_LIBPOD_API}. */
export function isSupportedApi(version: string | undefined): boolean {
  const m = /^(\d+)\.(\d+)/.exec(version ?? "");
  if (!m) return false;
  const [major, minor] = [Number(m[1]), Number(m[2])];
  return major > MIN_LIBPOD_API[0] || (major === MIN_LIBPOD_API[0] && minor >= MIN_LIBPOD_API[1]);
}
