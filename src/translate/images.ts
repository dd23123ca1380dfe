/**
 * libpod images → CRI images, and CRI auth → registry credentials. Pure.
 * @module
 */
import { Buffer } from "node:buffer";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { AuthConfig, ImageSchema } from "../gen/runtime/v1/api_pb.ts";
import { CriError } from "../errors.ts";
import type { LibpodImageInspect, LibpodImageSummary, RegistryCredentials } from "../podman/types.ts";
import { toCriImageId } from "./image_ref.ts";

/** A CRI `Image` as handlers return it. */
export type CriImage = MessageInitShape<typeof ImageSchema>;

/** Podman's name for an untagged image, which the CRI leaves out. */
const NONE_TAG = /^<none>(:<none>)?$|^<none>@<none>$/;

/** Converts a libpod list item to a CRI image (no user: the list endpoint does not carry the image config). */
export function toCriImageFromSummary(img: LibpodImageSummary, pinnedIds: ReadonlySet<string> = new Set()): CriImage {
  const id = toCriImageId(img.Id);
  return {
    id,
    repoTags: cleanTags(img.RepoTags),
    repoDigests: cleanNames(img.RepoDigests),
    size: BigInt(Math.max(0, Math.trunc(img.Size ?? 0))),
    spec: { image: id },
    pinned: pinnedIds.has(id),
  };
}

/** Converts an inspected image to a CRI image, with the user its config names (uid if numeric, else username). */
export function toCriImageFromInspect(img: LibpodImageInspect, pinnedIds: ReadonlySet<string> = new Set()): CriImage {
  const id = toCriImageId(img.Id);
  const image: CriImage = {
    id,
    repoTags: cleanTags(img.RepoTags),
    repoDigests: cleanNames(img.RepoDigests),
    size: BigInt(Math.max(0, Math.trunc(img.Size ?? 0))),
    spec: { image: id, ...(img.Annotations ? { annotations: { ...img.Annotations } } : {}) },
    pinned: pinnedIds.has(id),
  };
  const user = parseImageUser(img.Config?.User ?? img.User ?? "");
  if (user.uid !== undefined) image.uid = { value: user.uid };
  if (user.username !== undefined) image.username = user.username;
  return image;
}

/**
 * Splits an image config's `User` ("1000", "1000:1000", "nobody", "nobody:nogroup", "") the way kubelet reads it:
 * a numeric user is a uid, anything else a username.
 */
export function parseImageUser(user: string): { uid?: bigint; username?: string } {
  const name = user.split(":")[0] ?? "";
  if (name === "") return {};
  if (/^\d+$/.test(name)) return { uid: BigInt(name) };
  return { username: name };
}

/** The verbose `info` of ImageStatus: the image's config and facts, as JSON under the key "info". */
export function toImageStatusInfo(img: LibpodImageInspect): Record<string, string> {
  const info = {
    id: img.Id,
    digest: img.Digest,
    created: img.Created,
    architecture: img.Architecture,
    os: img.Os,
    labels: img.Labels ?? {},
    annotations: img.Annotations ?? {},
    imageSpec: { config: img.Config ?? {} },
  };
  return { info: JSON.stringify(info) };
}

/**
 * Turns the CRI AuthConfig into credentials for Podman. `auth` is base64 "user:password" and wins over
 * username/password when set, as in Docker's config files.
 */
export function toRegistryCredentials(auth: AuthConfig | undefined): RegistryCredentials | undefined {
  if (!auth) return undefined;
  const creds: RegistryCredentials = {};
  if (auth.username) creds.username = auth.username;
  if (auth.password) creds.password = auth.password;
  if (auth.auth) {
    const decoded = Buffer.from(auth.auth, "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    if (colon <= 0) {
      throw new CriError("InvalidArgument", 'auth.auth must be base64 of "username:password"');
    }
    creds.username = decoded.slice(0, colon);
    creds.password = decoded.slice(colon + 1);
  }
  if (auth.identityToken) creds.identityToken = auth.identityToken;
  if (auth.registryToken) {
    // libpod's X-Registry-Auth keeps username, password and identity token only (Podman 4.3, pkg/auth): a bearer
    // token would be dropped silently and the pull would run anonymously.
    throw new CriError(
      "InvalidArgument",
      "auth.registry_token is not supported: Podman's API takes username/password, auth or identity_token",
    );
  }
  if (auth.serverAddress) creds.serverAddress = auth.serverAddress;
  return Object.keys(creds).length > 0 ? creds : undefined;
}

function cleanNames(names: readonly string[] | null | undefined): string[] {
  return (names ?? []).filter((n) => !NONE_TAG.test(n));
}

/**
 * Podman lists `name@digest` in RepoTags for an image pulled by digest; the CRI's repo_tags holds `name:tag` only
 * (digests belong in repo_digests), so those entries are left out.
 */
function cleanTags(names: readonly string[] | null | undefined): string[] {
  return cleanNames(names).filter((n) => !n.includes("@"));
}

/** Whether an image is the sandbox infra image, which kubelet's image GC must keep (CRI Image.pinned). */
export function isInfraImage(names: readonly string[] | null | undefined, infraImage: string): boolean {
  return (names ?? []).some((n) =>
    infraImage ? n === infraImage || n === `${infraImage}:latest` : /^localhost\/podman-pause:/.test(n)
  );
}
