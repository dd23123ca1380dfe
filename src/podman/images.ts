/**
 * libpod image endpoints: list, inspect, pull, untag and remove.
 * @module
 */
import { Buffer } from "node:buffer";
import type { PodmanHttp } from "./client.ts";
import type { CallOptions, ImagesPort } from "./port.ts";
import { failureForPullMessage, PodmanError, unlessNotFound } from "./errors.ts";
import type { LibpodImageInspect, LibpodImageSummary, RegistryCredentials } from "./types.ts";

/** Image operations on one Podman. */
export class PodmanImages implements ImagesPort {
  readonly #http: PodmanHttp;

  /** Wraps a libpod HTTP client. */
  constructor(http: PodmanHttp) {
    this.#http = http;
  }

  /** Lists every stored image (`GET /libpod/images/json`). */
  async list(opts: CallOptions = {}): Promise<LibpodImageSummary[]> {
    const res = await this.#http.json<LibpodImageSummary[] | null>("Cannot list images", "GET", "/images/json", opts);
    return res.body ?? [];
  }

  /** Inspects an image by name or ID; `undefined` when Podman does not know it. */
  async inspect(nameOrId: string, opts: CallOptions = {}): Promise<LibpodImageInspect | undefined> {
    const res = await unlessNotFound(
      this.#http.json<LibpodImageInspect>(
        `Cannot inspect image "${nameOrId}"`,
        "GET",
        `/images/${encodeURIComponent(nameOrId)}/json`,
        opts,
      ),
    );
    return res?.body;
  }

  /**
   * Pulls `reference` and returns the pulled image's ID. Podman answers 200 and streams progress; a failure arrives
   * as an `error` document, classified by its message.
   */
  async pull(
    reference: string,
    opts: CallOptions & { credentials?: RegistryCredentials; tlsVerify?: boolean } = {},
  ): Promise<string> {
    let id: string | undefined;
    let failure: string | undefined;
    const headers: Record<string, string> = {};
    if (opts.credentials) headers["X-Registry-Auth"] = encodeRegistryAuth(opts.credentials);
    const what = `Cannot pull image "${reference}"`;
    await this.#http.jsonStream(what, "POST", "/images/pull", (doc) => {
      const d = doc as { error?: string; id?: string; images?: string[] };
      if (typeof d.error === "string" && d.error) failure = d.error;
      if (typeof d.id === "string" && d.id) id = d.id;
      else if (Array.isArray(d.images) && d.images[0]) id = d.images[0];
    }, {
      query: { reference, quiet: true, policy: "always", tlsVerify: opts.tlsVerify },
      headers,
      signal: opts.signal,
    });
    if (failure !== undefined) {
      const reason = failureForPullMessage(failure);
      const hint = reason === "unauthenticated" ? " (registry authentication failed)" : "";
      throw new PodmanError(reason, `${what}: ${failure}${hint}`);
    }
    if (!id) throw new PodmanError("unknown", `${what}: Podman reported no image ID`);
    return id;
  }

  /**
   * Removes the image with every name it has (`names`, its RepoTags); absent images count as removed. An image a
   * container uses is refused (FailedPrecondition) and left exactly as it was: Podman refuses to delete an image
   * with several names unless forced, and forced it removes the containers too, so the names go first (untag) and
   * come back (tag) if the delete then fails, e.g. for a container created in between.
   */
  async removeById(id: string, names: readonly string[], opts: CallOptions = {}): Promise<void> {
    const what = `Cannot remove image "${id}"`;
    const users = await this.#containersUsing(id, opts);
    if (users.length > 0) {
      throw new PodmanError("in-use", `${what}: containers use it (${users.join(", ")})`);
    }
    const path = `/images/${encodeURIComponent(id)}`;
    if (!(await unlessNotFound(this.#http.json(what, "POST", `${path}/untag`, opts)))) return;
    try {
      await unlessNotFound(this.#http.json(what, "DELETE", path, opts));
    } catch (err) {
      for (const name of names) {
        const { repo, tag } = splitTag(name);
        // Without the caller's signal: a cancelled call must still give the names back.
        await this.#http.json(`Cannot restore the name "${name}" of image "${id}"`, "POST", `${path}/tag`, {
          query: { repo, tag },
        }).catch(() => {});
      }
      throw err;
    }
  }

  /** Names of the containers (any state) created from image `id`. */
  async #containersUsing(id: string, opts: CallOptions): Promise<string[]> {
    const res = await this.#http.json<Array<{ Names?: string[]; Id: string }> | null>(
      `Cannot list the containers of image "${id}"`,
      "GET",
      "/containers/json",
      { query: { all: true, filters: JSON.stringify({ ancestor: [id] }) }, signal: opts.signal },
    );
    return (res.body ?? []).map((c) => c.Names?.[0] ?? c.Id.slice(0, 12));
  }
}

/** Splits `registry:5000/repo:tag` into the repository and the tag (after the last colon past the last slash). */
export function splitTag(name: string): { repo: string; tag: string } {
  const colon = name.lastIndexOf(":");
  if (colon > name.lastIndexOf("/")) return { repo: name.slice(0, colon), tag: name.slice(colon + 1) };
  return { repo: name, tag: "latest" };
}

/**
 * Encodes credentials for libpod's `X-Registry-Auth` header: Docker's format, JSON in URL-safe base64 *with*
 * padding (Go's base64.URLEncoding rejects the unpadded form with "unexpected EOF").
 */
export function encodeRegistryAuth(c: RegistryCredentials): string {
  const doc: Record<string, string> = {};
  if (c.username) doc["username"] = c.username;
  if (c.password) doc["password"] = c.password;
  if (c.identityToken) doc["identitytoken"] = c.identityToken;
  if (c.serverAddress) doc["serveraddress"] = c.serverAddress;
  return Buffer.from(JSON.stringify(doc)).toString("base64").replaceAll("+", "-").replaceAll("/", "_");
}
