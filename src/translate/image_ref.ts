/**
 * Image references as Kubernetes users write them: parsing by the distribution reference grammar, Docker Hub
 * normalisation for pulls, and the local lookup candidates for short names (as CRI-O resolves them).
 * @module
 */
import { CriError } from "../errors.ts";

/** A parsed image reference. */
export interface ImageReference {
  /** Registry host, with port, e.g. `docker.io`, `127.0.0.1:5000`, `localhost`; empty for a short name. */
  domain: string;
  /** Repository path below the domain, e.g. `library/busybox`. */
  path: string;
  tag?: string;
  /** `algorithm:hex`. */
  digest?: string;
}

const PATH_COMPONENT = "[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*";
const DOMAIN_COMPONENT = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
const DOMAIN = `(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[0-9a-fA-F:]+\\])(?::[0-9]+)?`;
const TAG = "[\\w][\\w.-]{0,127}";
const DIGEST = "[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}";
/** The reference grammar of the distribution project: [domain[:port]/]path[:tag][@digest], captured in that order. */
export const IMAGE_REFERENCE = new RegExp(
  `^(?:(${DOMAIN})/)?(${PATH_COMPONENT}(?:/${PATH_COMPONENT})*)(?::(${TAG}))?(?:@(${DIGEST}))?$`,
);
const IMAGE_ID = /^(?:sha256:)?([0-9a-f]{12,64})$/;

/** The registry short names are pulled from, as Kubernetes does. */
export const DEFAULT_DOMAIN = "docker.io";

/** Parses `text` or throws InvalidArgument naming `field`. */
export function parseImageReference(text: string, field = "image.image"): ImageReference {
  if (text.length === 0) throw new CriError("InvalidArgument", `${field} must not be empty`);
  const m = IMAGE_REFERENCE.exec(text);
  if (!m) {
    throw new CriError(
      "InvalidArgument",
      `${field} "${text}" is not a valid image reference: invalid reference format`,
    );
  }
  let domain = m[1] ?? "";
  let path = m[2]!;
  // The first component names a registry only if it looks like a host: a dot, a port, or "localhost".
  if (domain && !/[.:]/.test(domain) && domain !== "localhost" && !domain.startsWith("[")) {
    if (domain !== domain.toLowerCase()) {
      throw new CriError(
        "InvalidArgument",
        `${field} "${text}" is not a valid image reference: repository name must be lowercase`,
      );
    }
    path = `${domain}/${path}`;
    domain = "";
  }
  if (domain.length + path.length + 1 > 255) {
    throw new CriError(
      "InvalidArgument",
      `${field} "${text}" is not a valid image reference: name longer than 255 characters`,
    );
  }
  const ref: ImageReference = { domain, path };
  if (m[3] !== undefined) ref.tag = m[3];
  if (m[4] !== undefined) ref.digest = m[4];
  return ref;
}

/** Renders a reference back to text. */
export function formatImageReference(ref: ImageReference): string {
  return `${ref.domain ? `${ref.domain}/` : ""}${ref.path}${ref.tag !== undefined ? `:${ref.tag}` : ""}${
    ref.digest !== undefined ? `@${ref.digest}` : ""
  }`;
}

/** Fully qualifies a reference the Docker Hub way: `busybox` → `docker.io/library/busybox:latest`. */
export function normalizeForPull(ref: ImageReference): ImageReference {
  const out: ImageReference = { ...ref };
  if (!out.domain) {
    out.domain = DEFAULT_DOMAIN;
    if (!out.path.includes("/")) out.path = `library/${out.path}`;
  } else if (out.domain === "docker.io" || out.domain === "index.docker.io") {
    out.domain = DEFAULT_DOMAIN;
    if (!out.path.includes("/")) out.path = `library/${out.path}`;
  }
  if (out.tag === undefined && out.digest === undefined) out.tag = "latest";
  return out;
}

/** What a CRI image string names: a stored image's ID (or ID prefix), or a reference. */
export type ImageTarget = { kind: "id"; id: string } | { kind: "reference"; ref: ImageReference; candidates: string[] };

/**
 * Classifies a CRI image string for a local lookup. A short name is looked up as `localhost/NAME` first (images
 * built or imported with Podman), then as its Docker Hub form, as CRI-O does.
 */
export function toImageTarget(text: string, field = "image.image"): ImageTarget {
  const id = IMAGE_ID.exec(text);
  if (id) return { kind: "id", id: id[1]! };
  const ref = parseImageReference(text, field);
  const withTag = (r: ImageReference) =>
    formatImageReference(r.tag === undefined && r.digest === undefined ? { ...r, tag: "latest" } : r);
  const candidates = ref.domain ? [withTag(normalizeForPull(ref))] : [
    withTag({ ...ref, domain: "localhost" }),
    formatImageReference(normalizeForPull(ref)),
  ];
  return { kind: "reference", ref, candidates };
}

/** The CRI form of an image ID: `sha256:<hex>`. */
export function toCriImageId(podmanId: string): string {
  return podmanId.startsWith("sha256:") ? podmanId : `sha256:${podmanId}`;
}

/**
 * Tells whether pulls from `domain` (host or host:port) skip TLS verification: an entry matches the exact
 * host:port, or the host on any port.
 */
export function isInsecureRegistry(domain: string, insecure: readonly string[]): boolean {
  const host = domain.startsWith("[") ? domain.slice(0, domain.indexOf("]") + 1) : domain.split(":")[0]!;
  return insecure.includes(domain) || insecure.includes(host);
}
