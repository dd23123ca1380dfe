/**
 * The Podman port: every libpod endpoint group cri-podman uses, over one connection pool.
 * @module
 */
import { PodmanHttp } from "./client.ts";
import { PodmanContainers } from "./containers.ts";
import { PodmanExec } from "./exec.ts";
import { PodmanImages } from "./images.ts";
import { PodmanNetworks } from "./networks.ts";
import { PodmanPods } from "./pods.ts";
import { PodmanSystem } from "./system.ts";

/** One Podman service, by endpoint group. */
export interface Podman {
  readonly socketPath: string;
  readonly system: PodmanSystem;
  readonly images: PodmanImages;
  readonly pods: PodmanPods;
  readonly containers: PodmanContainers;
  readonly networks: PodmanNetworks;
  readonly exec: PodmanExec;
  close(): Promise<void>;
}

/** Connects (lazily) to the libpod API on `socketPath`. */
export function connectPodman(socketPath: string, opts: { requestTimeoutMs?: number } = {}): Podman {
  const http = new PodmanHttp(socketPath, opts.requestTimeoutMs ? { defaultTimeoutMs: opts.requestTimeoutMs } : {});
  return {
    socketPath,
    system: new PodmanSystem(http),
    images: new PodmanImages(http),
    pods: new PodmanPods(http),
    containers: new PodmanContainers(http),
    networks: new PodmanNetworks(http),
    exec: new PodmanExec(http),
    close: () => http.close(),
  };
}
