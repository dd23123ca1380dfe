/**
 * Feeds Podman's event stream into the List cache: a full re-read whenever the stream (re)connects, and a
 * re-read of the one object an event names. Refreshes of one object are coalesced: while one runs, further events
 * for it ask for exactly one more run.
 * @module
 */
import type { Logger } from "../observability/log.ts";
import type { PodmanEvent } from "../podman/events.ts";
import type { EventsPort, EventSubscription } from "../podman/port.ts";
import { KIND } from "../translate/labels.ts";
import type { ImageCache } from "./image_cache.ts";
import type { RuntimeCache } from "./runtime_cache.ts";

/** Actions that change nothing a List shows. */
const IGNORED = new Set(["exec", "exec_died", "exec_start", "attach", "health_status", "sync", "mount", "unmount"]);

/** Connects an event stream to a cache. */
export class EventFeed {
  readonly #cache: RuntimeCache;
  readonly #images: ImageCache | undefined;
  readonly #log: Logger;
  readonly #running = new Map<string, Promise<void>>();
  readonly #again = new Set<string>();

  /** Prepares a feed (call {@link EventFeed.start}); with `images`, image events feed that cache too. */
  constructor(cache: RuntimeCache, log: Logger, images?: ImageCache) {
    this.#cache = cache;
    this.#images = images;
    this.#log = log;
  }

  /** Subscribes to container, pod (and image) events; stop the returned subscription to end the feed. */
  start(events: EventsPort): EventSubscription {
    return events.subscribe(this.#images ? ["container", "pod", "image"] : ["container", "pod"], {
      onConnected: async () => {
        try {
          // Both in parallel: with many images Podman lists them slowly (≈20 ms per image).
          await Promise.all([this.#cache.resync(), this.#images?.resync()]);
          // In the background: Status calls then answer from memory for objects created before this connection.
          const started = performance.now();
          this.#cache.warmStatuses().then((read) => {
            this.#log.debug("statuses read", { read, ms: Math.round(performance.now() - started) });
          }, () => {});
        } catch (err) {
          this.#log.warn("cache resync failed; List asks Podman directly", { error: (err as Error).message });
          // Rethrown: the stream then reconnects (with backoff) and calls us again. Swallowed, one failed read left
          // the cache unsynced for as long as the stream lived, and every List went to Podman.
          throw err;
        }
      },
      onDisconnected: (err) => {
        this.#cache.markUnsynced();
        this.#images?.markUnsynced();
        this.#log.warn("podman event stream lost; List asks Podman directly until it is back", {
          error: err?.message ?? "",
        });
      },
      onEvent: (e) => this.#onEvent(e),
    });
  }

  #onEvent(e: PodmanEvent): void {
    if (IGNORED.has(e.action)) return;
    if (e.type === "image") {
      const images = this.#images;
      // Podman 4.3's "pull" event carries no ID, only the reference pulled: that name is looked up instead.
      const which = e.id || e.name;
      if (images && which) this.#schedule(`i:${which}`, () => images.refreshImage(which));
    } else if (e.type === "pod") {
      this.#schedule(`s:${e.id}`, () => this.#cache.refreshSandbox(e.id));
    } else if (e.type === "container") {
      const kind = e.attributes[KIND];
      const podId = e.attributes["podId"] ?? "";
      if (kind === "container") this.#schedule(`c:${e.id}`, () => this.#cache.refreshContainer(e.id));
      else if (kind === "sandbox" && podId) this.#schedule(`s:${podId}`, () => this.#cache.refreshSandbox(podId));
    }
  }

  #schedule(key: string, refresh: () => Promise<unknown>): void {
    if (this.#running.has(key)) {
      this.#again.add(key);
      return;
    }
    const run = refresh()
      .then(() => {}) // the refreshed value is the cache's business
      .catch((err: Error) => this.#log.debug("cache refresh failed", { key, error: err.message }))
      .finally(() => {
        this.#running.delete(key);
        if (this.#again.delete(key)) this.#schedule(key, refresh);
      });
    this.#running.set(key, run);
  }
}
