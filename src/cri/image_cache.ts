/**
 * The image cache: every stored image's inspect, kept current by Podman's image events and by PullImage and
 * RemoveImage, rebuilt at start and whenever the event stream reconnects. With many images Podman answers slowly
 * (measured with 52 images: `GET /images/json` 1.0 s, one image inspect 22 ms), and kubelet asks ImageStatus before
 * every container start and ListImages for image garbage collection.
 *
 * A full read (start, reconnect) lists the images and inspects only those that are new or renamed (an image's config
 * never changes under its ID); afterwards each image event, PullImage and RemoveImage update the one image they
 * name, so the cache shows a completed call's work when it returns (read-your-writes). Each update carries the
 * sequence number of its read, and an older read never overwrites a newer one. Lookups that miss fall back to Podman
 * (an image stored behind our back is found before its event arrives); what the cache holds can be stale only by
 * Podman's event latency, for changes made behind our back.
 * @module
 */
import type { Logger } from "../observability/log.ts";
import type { PodmanPort } from "../podman/port.ts";
import type { LibpodImageInspect } from "../podman/types.ts";
import { matchId } from "../translate/ids.ts";
import type { ImageTarget } from "../translate/image_ref.ts";

/** What a lookup in memory found: the image, or "ask" (not in memory: Podman knows better). */
export type ImageLookup = LibpodImageInspect | "ask";

interface Kept {
  /** The sequence number of the read this came from. */
  seq: number;
  image: LibpodImageInspect;
}

/** Stored images by ID, fed by events. */
export class ImageCache {
  readonly #podman: PodmanPort;
  readonly #log: Logger;
  readonly #byId = new Map<string, Kept>();
  /** IDs removed (by a read or by us), with when: an older read still under way must not bring them back. */
  readonly #gone = new Map<string, number>();
  /** Sequence numbers of the reads under way: a removal is remembered only while an older one may still land. */
  readonly #reading = new Set<number>();
  #seq = 0;
  /** Reads under way (refreshImage): answers wait for them, so an event that arrived before a call counts. */
  readonly #inflight = new Set<Promise<unknown>>();
  #synced = false;
  #streamLosses = 0;
  /** Bumped by every change of the stored images (and by losing sync): what {@link memoize} compares. */
  #version = 0;
  #memo: { version: number; key: string; value: unknown } | undefined;

  /** Creates an empty, unsynced cache. */
  constructor(podman: PodmanPort, log: Logger) {
    this.#podman = podman;
    this.#log = log;
  }

  /** Whether lookups may answer from memory: the event stream is up and a full read completed since. */
  get synced(): boolean {
    return this.#synced;
  }

  /** Marks the cache untrusted (the event stream broke). */
  markUnsynced(): void {
    this.#synced = false;
    this.#version++;
    this.#streamLosses++;
  }

  /**
   * Reads every image (one list, and an inspect of each image that is new or renamed) and marks the cache synced
   * unless the stream broke meanwhile. Entries written by later reads win.
   */
  async resync(signal?: AbortSignal): Promise<void> {
    const seq = this.#begin();
    try {
      await this.#resync(seq, signal);
    } finally {
      this.#end(seq);
    }
  }

  async #resync(seq: number, signal?: AbortSignal): Promise<void> {
    const losses = this.#streamLosses;
    const list = await this.#podman.images.list({ signal });
    const read = await Promise.all(list.map(async (summary) => {
      const kept = this.#byId.get(summary.Id);
      if (kept && sameNames(kept.image.RepoTags, summary.RepoTags)) {
        if (sameNames(kept.image.RepoDigests, summary.RepoDigests)) return kept.image;
      }
      const inspect = await this.#podman.images.inspect(summary.Id, { signal });
      return inspect ? trim(inspect) : undefined;
    }));
    const seen = new Set<string>();
    for (const image of read) {
      if (!image) continue;
      seen.add(image.Id);
      this.#put(image, seq);
    }
    for (const [id, kept] of this.#byId) if (!seen.has(id) && kept.seq < seq) this.#byId.delete(id);
    this.#version++;
    if (losses === this.#streamLosses) this.#synced = true;
    this.#log.debug("image cache resynced", { images: this.#byId.size });
  }

  /** Re-reads one image, by ID or name (after a pull, or on its event): one inspect. Returns it (undefined: gone). */
  refreshImage(id: string, signal?: AbortSignal): Promise<LibpodImageInspect | undefined> {
    const op = this.#refresh(id, signal);
    this.#inflight.add(op);
    return op.finally(() => this.#inflight.delete(op));
  }

  async #refresh(id: string, signal?: AbortSignal): Promise<LibpodImageInspect | undefined> {
    const seq = this.#begin();
    try {
      const inspect = await this.#podman.images.inspect(id, { signal });
      if (!inspect) {
        // Gone. A name (a pull event's reference) that names nothing says nothing about any image we keep.
        const bare = id.replace(/^sha256:/, "");
        if (/^[0-9a-f]{64}$/.test(bare)) this.#remove(bare, seq);
        return undefined;
      }
      const image = trim(inspect);
      this.#put(image, seq);
      return image;
    } finally {
      this.#end(seq); // after its result is applied: the removals it must respect are forgotten only then
    }
  }

  /** Forgets an image at once (we removed it). */
  forget(id: string): void {
    this.#remove(id.replace(/^sha256:/, ""), ++this.#seq);
  }

  /**
   * Once reads under way have landed and while synced: what `build` makes of the stored images, made once per state
   * of them (ListImages answers one response object, encoded once, until an image changes). Undefined while
   * unsynced.
   */
  async memoize<T>(key: string, build: (images: LibpodImageInspect[]) => T): Promise<T | undefined> {
    await this.#settled();
    if (!this.#synced) return undefined;
    if (this.#memo?.key === key && this.#memo.version === this.#version) return this.#memo.value as T;
    const value = build([...this.#byId.values()].map((k) => k.image));
    this.#memo = { key, version: this.#version, value };
    return value;
  }

  /**
   * The image `target` names, from memory: a full ID or unique ID prefix; a reference's candidates in order, each
   * matched exactly against the images' tags (or, with a digest, their digests). A miss is "ask": the image may be
   * stored and its event not yet here, and Podman's digest matching is broader than an exact name.
   */
  async lookup(target: ImageTarget): Promise<ImageLookup> {
    await this.#settled();
    if (!this.#synced) return "ask";
    if (target.kind === "id") {
      const id = target.id.replace(/^sha256:/, "");
      const full = matchId(this.#byId.keys(), id);
      return full === undefined ? "ask" : this.#byId.get(full)!.image;
    }
    for (const candidate of target.candidates) {
      const byDigest = candidate.includes("@");
      for (const { image } of this.#byId.values()) {
        if ((byDigest ? image.RepoDigests : image.RepoTags)?.includes(candidate)) return image;
      }
    }
    return "ask";
  }

  /** A number for a read that begins now, registered as under way. */
  #begin(): number {
    const seq = ++this.#seq;
    this.#reading.add(seq);
    return seq;
  }

  /** Ends a read, and forgets the removals no read under way began before. */
  #end(seq: number): void {
    this.#reading.delete(seq);
    const oldest = Math.min(...this.#reading);
    for (const [id, at] of this.#gone) if (at <= oldest) this.#gone.delete(id);
  }

  /** How many removals are remembered (tests: they must not pile up). */
  get removalsRemembered(): number {
    return this.#gone.size;
  }

  /** Waits for the reads under way (they are one inspect each: a few ms). */
  async #settled(): Promise<void> {
    while (this.#inflight.size > 0) await Promise.allSettled([...this.#inflight]);
  }

  /** Keeps `image` as read at `seq`; a tag belongs to one image at a time, so others lose the tags it now has. */
  #put(image: LibpodImageInspect, seq: number): void {
    const current = this.#byId.get(image.Id);
    if (current && current.seq > seq) return;
    if ((this.#gone.get(image.Id) ?? -1) > seq) return;
    this.#byId.set(image.Id, { seq, image });
    this.#version++;
    const tags = new Set(image.RepoTags ?? []);
    if (tags.size === 0) return;
    for (const [id, kept] of this.#byId) {
      if (id === image.Id || kept.seq > seq || !kept.image.RepoTags?.some((t) => tags.has(t))) continue;
      kept.image = { ...kept.image, RepoTags: kept.image.RepoTags.filter((t) => !tags.has(t)) };
    }
  }

  #remove(id: string, seq: number): void {
    const current = this.#byId.get(id);
    if (current && current.seq > seq) return;
    this.#byId.delete(id);
    this.#version++;
    this.#gone.set(id, seq);
  }
}

function sameNames(a: readonly string[] | null | undefined, b: readonly string[] | null | undefined): boolean {
  const x = a ?? [];
  const y = b ?? [];
  return x.length === y.length && x.every((n, i) => n === y[i]);
}

/** The parts of an inspect cri-podman reads (LibpodImageInspect's fields): the rest of Podman's answer is dropped. */
function trim(i: LibpodImageInspect): LibpodImageInspect {
  const c = i.Config;
  return {
    Id: i.Id,
    ...(i.Digest !== undefined ? { Digest: i.Digest } : {}),
    RepoTags: i.RepoTags ?? [],
    RepoDigests: i.RepoDigests ?? [],
    Size: i.Size,
    ...(i.User !== undefined ? { User: i.User } : {}),
    ...(i.Created !== undefined ? { Created: i.Created } : {}),
    ...(i.Architecture !== undefined ? { Architecture: i.Architecture } : {}),
    ...(i.Os !== undefined ? { Os: i.Os } : {}),
    ...(i.Labels ? { Labels: i.Labels } : {}),
    ...(i.Annotations ? { Annotations: i.Annotations } : {}),
    ...(c
      ? {
        Config: {
          ...(c.User !== undefined ? { User: c.User } : {}),
          ...(c.Env ? { Env: c.Env } : {}),
          ...(c.Entrypoint ? { Entrypoint: c.Entrypoint } : {}),
          ...(c.Cmd ? { Cmd: c.Cmd } : {}),
          ...(c.WorkingDir !== undefined ? { WorkingDir: c.WorkingDir } : {}),
          ...(c.Labels ? { Labels: c.Labels } : {}),
          ...(c.StopSignal !== undefined ? { StopSignal: c.StopSignal } : {}),
          ...(c.ExposedPorts ? { ExposedPorts: c.ExposedPorts } : {}),
          ...(c.Volumes ? { Volumes: c.Volumes } : {}),
        },
      }
      : {}),
  };
}
