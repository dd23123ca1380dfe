/**
 * How many bytes Podman has downloaded so far for a pull in flight, read from the blobs it writes.
 *
 * Podman 4.3.1's pull endpoint (`POST /libpod/images/pull`) streams only text ("Copying blob sha256:…"), never a
 * byte count, and the Docker-compatible `/images/create`, whose `progressDetail` has them, ignores `tlsVerify`
 * (a plain-HTTP registry from `images.insecure_registries` fails there). What does tell is the image copy itself:
 * containers/image downloads every blob of a pull into a directory of its own, `storage<digits>` (newer releases:
 * `container_images_storage<digits>`), under the service's `$TMPDIR` or `/var/tmp` (containers.conf
 * `image_copy_tmp_dir`), and removes it when the image is committed. The files grow as the bytes arrive (measured:
 * a 160 MiB layer from a local registry grew in ~3.5 MB steps every 25 ms), so their sizes are the compressed bytes
 * received so far.
 *
 * Each pull creates one such directory. When several pulls run at once, new directories go to the pulls in the order
 * both appeared (the oldest pull without a directory gets the oldest new directory), which Podman's handling of
 * concurrent requests makes right nearly always; a directory that was there before a pull began is never its.
 * @module
 */

/** The directory name containers/image gives a pull's blobs. */
const BLOB_DIR = /^(?:container_images_)?storage[0-9]+$/;

/** One tracked pull: its bytes so far. */
export interface TrackedPull {
  /** Bytes in the pull's blob directory now (the last size seen once Podman removed it; 0 before it exists). */
  bytes(): Promise<number>;
  /** Stops tracking the pull. Idempotent. */
  release(): void;
}

interface Pull {
  readonly startedMs: number;
  /** Blob directories that existed when the pull began: never this pull's. */
  readonly before: ReadonlySet<string>;
  dir: string | undefined;
  lastBytes: number;
}

/** Finds the blob directories of pulls in flight under the image-copy temporary directories, and sizes them. */
export class PullBlobWatcher {
  readonly #roots: readonly string[];
  readonly #pulls = new Set<Pull>();
  #scanning: Promise<void> | undefined;

  /** Watches `roots`, the directories Podman's image copies may use (e.g. the service's `$TMPDIR` and `/var/tmp`). */
  constructor(roots: readonly string[]) {
    this.#roots = [...new Set(roots.filter((r) => r !== ""))];
  }

  /** Starts tracking a pull that begins now. */
  async track(): Promise<TrackedPull> {
    const before = new Set((await this.#blobDirs()).map((d) => d.path));
    const pull: Pull = { startedMs: Date.now(), before, dir: undefined, lastBytes: 0 };
    this.#pulls.add(pull);
    return {
      bytes: async () => {
        if (this.#pulls.has(pull)) await this.#scan();
        return pull.lastBytes;
      },
      release: () => {
        this.#pulls.delete(pull);
      },
    };
  }

  /** One scan for every tracked pull at a time: concurrent callers share it. */
  #scan(): Promise<void> {
    return this.#scanning ??= this.#scanOnce().finally(() => this.#scanning = undefined);
  }

  async #scanOnce(): Promise<void> {
    const dirs = await this.#blobDirs();
    const taken = new Set([...this.#pulls].map((p) => p.dir).filter((d) => d !== undefined));
    const waiting = [...this.#pulls].filter((p) => p.dir === undefined).sort((a, b) => a.startedMs - b.startedMs);
    for (const dir of dirs.filter((d) => !taken.has(d.path)).sort((a, b) => a.bornMs - b.bornMs)) {
      const pull = waiting.find((p) => !p.before.has(dir.path));
      if (!pull) continue;
      pull.dir = dir.path;
      waiting.splice(waiting.indexOf(pull), 1);
    }
    await Promise.all([...this.#pulls].map(async (pull) => {
      if (pull.dir === undefined) return;
      const size = await dirBytes(pull.dir);
      // A removed directory (the pull committed) keeps the last size seen.
      if (size !== undefined) pull.lastBytes = Math.max(pull.lastBytes, size);
    }));
  }

  async #blobDirs(): Promise<Array<{ path: string; bornMs: number }>> {
    const found: Array<{ path: string; bornMs: number }> = [];
    for (const root of this.#roots) {
      try {
        for await (const entry of Deno.readDir(root)) {
          if (!entry.isDirectory || !BLOB_DIR.test(entry.name)) continue;
          const path = `${root}/${entry.name}`;
          const info = await Deno.stat(path).catch(() => undefined);
          if (info) found.push({ path, bornMs: (info.birthtime ?? info.mtime)?.getTime() ?? 0 });
        }
      } catch {
        // A root that does not exist or that we may not read holds no blobs of ours.
      }
    }
    return found;
  }
}

/** The bytes of the regular files directly in `dir`; undefined when it is gone. */
async function dirBytes(dir: string): Promise<number | undefined> {
  let total = 0;
  try {
    for await (const entry of Deno.readDir(dir)) {
      if (!entry.isFile) continue;
      const info = await Deno.stat(`${dir}/${entry.name}`).catch(() => undefined);
      total += info?.size ?? 0;
    }
  } catch {
    return undefined;
  }
  return total;
}
