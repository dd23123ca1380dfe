/**
 * The real Podman port: every libpod endpoint group cri-podman uses, over one HTTP client on Podman's socket.
 * @module
 */
import type { Logger } from "../observability/log.ts";
import type { Metrics } from "../observability/metrics.ts";
import { PodmanHttp } from "./client.ts";
import { PodmanContainers } from "./containers.ts";
import { PodmanEventStream } from "./events.ts";
import { PodmanExec } from "./exec.ts";
import { PodmanImages } from "./images.ts";
import { PodmanNetworks } from "./networks.ts";
import { PodmanPods } from "./pods.ts";
import type { PodmanPort } from "./port.ts";
import { PodmanSystem } from "./system.ts";

export type { PodmanPort } from "./port.ts";

/** Connects (lazily) to the libpod API on `socketPath`. */
export function connectPodman(
  socketPath: string,
  opts: { requestTimeoutMs?: number; log: Logger; metrics?: Metrics },
): PodmanPort {
  const http = new PodmanHttp(socketPath, {
    ...(opts.requestTimeoutMs ? { defaultTimeoutMs: opts.requestTimeoutMs } : {}),
    metrics: opts.metrics,
  });
  return {
    system: new PodmanSystem(http),
    images: new PodmanImages(http),
    pods: new PodmanPods(http),
    containers: new PodmanContainers(http),
    networks: new PodmanNetworks(http),
    exec: new PodmanExec(http),
    events: {
      subscribe(types, handlers) {
        const stream = new PodmanEventStream(http, { types: [...types], log: opts.log, metrics: opts.metrics });
        stream.start(handlers);
        return { stop: () => stream.stop() };
      },
    },
    close: () => http.close(),
  };
}
