/**
 * Checks of configuration values that a regex cannot express well. Each returns what is wrong, in words that name
 * the fix, or undefined when the value is fine; schema.ts turns them into valibot checks, so a bad value stops the
 * start instead of failing the first CRI call that uses it.
 * @module
 */
import { isIPv6 } from "node:net";
import { IMAGE_REFERENCE } from "../translate/image_ref.ts";

/** Quotes a value for a message; JSON escapes keep control characters (a NUL, a newline) visible on one line. */
export function quote(value: string): string {
  return JSON.stringify(value);
}

/** The smallest and largest prefix length of the pod subnet: /30 still holds a gateway and one pod, /8 is plenty. */
const MIN_PREFIX = 8;
const MAX_PREFIX = 30;

/** What is wrong with `text` as the pod network's IPv4 subnet (`a.b.c.d/len`, network address, 8 ≤ len ≤ 30). */
export function ipv4CidrProblem(text: string): string | undefined {
  const m = /^([^/]*)\/([0-9]+)$/.exec(text);
  if (!m) return `${quote(text)} is not an IPv4 CIDR (expected address/length, e.g. "10.85.0.0/16")`;
  const addressProblem = ipv4Problem(m[1]!);
  if (addressProblem) return `${quote(text)} is not an IPv4 CIDR: ${addressProblem}`;
  const lengthText = m[2]!;
  if (/^0[0-9]/.test(lengthText)) return `${quote(text)} is not an IPv4 CIDR: prefix length has a leading zero`;
  const length = Number(lengthText);
  if (length < MIN_PREFIX || length > MAX_PREFIX) {
    return `prefix length ${lengthText} is out of range (${MIN_PREFIX}–${MAX_PREFIX})`;
  }
  const address = ipv4ToNumber(m[1]!);
  const network = (address & ((0xffffffff << (32 - length)) >>> 0)) >>> 0;
  if (network !== address) {
    return `${quote(text)} has host bits set: the network address would be ${
      quote(`${numberToIpv4(network)}/${length}`)
    }`;
  }
  return undefined;
}

/** What is wrong with `text` as a dotted-quad IPv4 address (four octets 0–255 without leading zeros). */
function ipv4Problem(text: string): string | undefined {
  const octets = text.split(".");
  if (octets.length !== 4 || !octets.every((o) => /^[0-9]+$/.test(o))) {
    return `${quote(text)} is not an IPv4 address (four numbers 0–255 separated by dots)`;
  }
  for (const octet of octets) {
    // A leading zero reads as octal to some tools (inet_aton), so the address would be ambiguous.
    if (octet.length > 1 && octet.startsWith("0")) return `octet ${quote(octet)} has a leading zero`;
    if (Number(octet) > 255) return `octet ${quote(octet)} is out of range (0–255)`;
  }
  return undefined;
}

function ipv4ToNumber(text: string): number {
  return text.split(".").reduce((n, octet) => n * 256 + Number(octet), 0);
}

function numberToIpv4(n: number): string {
  return [24, 16, 8, 0].map((shift) => (n >>> shift) & 255).join(".");
}

/** True for an IPv6 address in its text form without brackets, zone or embedded IPv4 (which image references lack). */
function isIpv6(text: string): boolean {
  if (!/^[0-9a-fA-F:]+$/.test(text)) return false;
  const halves = text.split("::");
  if (halves.length > 2) return false;
  const groups = halves.flatMap((half) => half === "" ? [] : half.split(":"));
  if (!groups.every((g) => /^[0-9a-fA-F]{1,4}$/.test(g))) return false;
  return halves.length === 2 ? groups.length <= 7 : groups.length === 8;
}

const DNS_LABEL = /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

/**
 * What is wrong with `text` as an `images.insecure_registries` entry: `host` or `host:port`, where host is a DNS name,
 * an IPv4 address or a bracketed IPv6 address. The entry is compared with the registry part of image references as
 * written, so anything else (a scheme, a path, a wildcard) could never match and would leave TLS verification on.
 */
export function registryProblem(text: string): string | undefined {
  if (text === "") return "must not contain empty names";
  // User info may hold a password: the message shows "…@" in its place.
  const shown = text.replace(/^([A-Za-z][A-Za-z0-9+.-]*:\/\/)?[^/]*@/, "$1…@");
  const fail = (why: string) => `${quote(shown)} is not a registry host[:port]: ${why}`;
  const scheme = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.exec(text)?.[0];
  if (scheme) return fail(`drop the scheme ${quote(scheme)}`);
  if (/\s/.test(text)) return fail("it contains whitespace");
  const slash = text.indexOf("/");
  if (slash >= 0) return fail(`drop the path ${quote(text.slice(slash))}`);
  const at = text.lastIndexOf("@");
  if (at >= 0) return fail(`drop the user info before "@" (credentials come with each pull)`);
  if (text.startsWith("*.")) {
    // registries.conf accepts "*.example.com" prefixes, but this list is matched host by host, exactly.
    return fail("wildcards are not supported: list each host");
  }
  let host: string;
  let port: string | undefined;
  if (text.startsWith("[")) {
    const close = text.indexOf("]");
    if (close < 0) return fail(`"]" is missing after the IPv6 address`);
    host = text.slice(0, close + 1);
    const rest = text.slice(close + 1);
    if (rest !== "" && !rest.startsWith(":")) return fail(`unexpected ${quote(rest)} after ${quote(host)}`);
    if (rest !== "") port = rest.slice(1);
    if (!isIpv6(host.slice(1, -1))) return fail(`${quote(host)} is not an IPv6 address`);
  } else {
    const colons = text.split(":").length - 1;
    if (colons > 1) {
      return isIpv6(text) ? fail(`write an IPv6 address in brackets: ${quote(`[${text}]`)}`) : fail("too many colons");
    }
    [host, port] = colons === 1 ? [text.slice(0, text.indexOf(":")), text.slice(text.indexOf(":") + 1)] : [text];
    const labels = host.split(".");
    if (labels.every((label) => /^[0-9]+$/.test(label))) {
      const problem = ipv4Problem(host);
      if (problem) return fail(problem);
    } else if (host.length > 253 || !labels.every((label) => DNS_LABEL.test(label))) {
      return fail(
        `${quote(host)} is not a host name (dot-separated labels of letters, digits and "-"), IPv4 address or ` +
          `bracketed IPv6 address`,
      );
    }
  }
  if (port !== undefined) {
    if (port === "") return fail(`the port after ":" is missing`);
    if (!/^[1-9][0-9]{0,4}$/.test(port) || Number(port) > 65535) {
      return fail(`port ${quote(port)} is not a number 1–65535 without leading zeros`);
    }
  }
  return undefined;
}

/** An address to listen on: an IP address (IPv6 in brackets) and a TCP port 0–65535 (0 = a free one). */
export interface ListenAddress {
  /** The IP address, without brackets. */
  hostname: string;
  /** The TCP port; 0 = a free one, chosen when the server starts. */
  port: number;
}

/**
 * Reads `host:port` (`127.0.0.1:9090`, `[::1]:9090`); undefined when it is not one. The host is an IP address, not a
 * name: a listener binds one address, and a name could stand for several.
 */
export function parseListenAddress(text: string): ListenAddress | undefined {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([0-9.]+)):(0|[1-9][0-9]{0,4})$/.exec(text);
  if (!m) return undefined;
  const hostname = m[1] ?? m[2]!;
  const port = Number(m[3]);
  if (port > 65535) return undefined;
  if (m[1] !== undefined ? isIPv6(hostname) : ipv4Problem(hostname) === undefined) return { hostname, port };
  return undefined;
}

/** What is wrong with `text` as a listen address (`host:port`), or undefined; "" (off) is fine. */
export function listenAddressProblem(text: string): string | undefined {
  if (text === "" || parseListenAddress(text)) return undefined;
  return `${quote(text)} is not an address to listen on: expected IP:port, e.g. "127.0.0.1:9090" or "[::1]:9090" ` +
    `(port 0–65535, 0 = a free one), or "" for off`;
}

/** The longest unix socket path: `sun_path` holds 108 bytes, the last of which is the terminating NUL. */
export const MAX_SOCKET_PATH_BYTES = 107;

/** What is wrong with `text` as an absolute path: relative, a `..` segment, or a NUL. */
export function absolutePathProblem(text: string): string | undefined {
  if (!text.startsWith("/")) return `must be an absolute path (got ${quote(text)})`;
  if (text.includes("\0")) return `${quote(text)} must not contain a NUL character`;
  // ".." would make the path depend on symlinks along the way; say the real directory instead.
  if (text.split("/").includes("..")) return `${quote(text)} must not contain ".." segments`;
  return undefined;
}

/** What is wrong with `text` as a unix socket path: {@link absolutePathProblem}, or too long for the kernel. */
export function socketPathProblem(text: string): string | undefined {
  const problem = absolutePathProblem(text);
  if (problem) return problem;
  const bytes = new TextEncoder().encode(text).length;
  if (bytes > MAX_SOCKET_PATH_BYTES) {
    return `${quote(text)} is ${bytes} bytes long; a unix socket path must be shorter than ${
      MAX_SOCKET_PATH_BYTES + 1
    } bytes (the kernel's limit): choose a shorter path`;
  }
  return undefined;
}

/** What is wrong with `text` as an OCI runtime: neither a bare executable name nor an absolute path. */
export function ociRuntimeProblem(text: string): string | undefined {
  if (text === "") return "must name an OCI runtime";
  if (text.startsWith("/")) return absolutePathProblem(text);
  if (text.includes("/")) {
    return `${quote(text)} is a relative path: give a name Podman looks up (e.g. "crun") or an absolute path`;
  }
  if (!/^[A-Za-z0-9._+-]+$/.test(text) || text === "." || text === "..") {
    return `${quote(text)} is not an OCI runtime name (letters, digits, ".", "_", "+", "-") or an absolute path`;
  }
  return undefined;
}

/** What is wrong with `text` as `pods.infra_image`: "" (Podman's own pause image) or an image reference. */
export function infraImageProblem(text: string): string | undefined {
  if (text === "") return undefined;
  const fail = (why: string) => `${quote(text)} is not an image reference: ${why}`;
  if (/\s/.test(text)) return fail("it contains whitespace");
  if (!IMAGE_REFERENCE.test(text)) {
    if (IMAGE_REFERENCE.test(lowerRepository(text))) return fail("the repository name must be lower case");
    return fail(`expected [registry/]repository[:tag][@digest], e.g. "registry.k8s.io/pause:3.10"`);
  }
  const m = IMAGE_REFERENCE.exec(text)!;
  // Without a registry part, the first path component is the registry only if it looks like a host.
  if (m[1] && !/[.:]/.test(m[1]) && m[1] !== "localhost" && m[1] !== m[1].toLowerCase()) {
    return fail("the repository name must be lower case");
  }
  if (text.length > 255) return fail("it is longer than 255 characters");
  return undefined;
}

/** `text` with the repository (not the registry, tag or digest) in lower case, to tell that mistake apart. */
function lowerRepository(text: string): string {
  const at = text.indexOf("@");
  const name = at >= 0 ? text.slice(0, at) : text;
  const digest = at >= 0 ? text.slice(at) : "";
  const lastSlash = name.lastIndexOf("/");
  const colon = name.indexOf(":", lastSlash + 1);
  const withoutTag = colon >= 0 ? name.slice(0, colon) : name;
  const tag = colon >= 0 ? name.slice(colon) : "";
  const firstSlash = withoutTag.indexOf("/");
  const first = firstSlash >= 0 ? withoutTag.slice(0, firstSlash) : "";
  const isDomain = first !== "" && (/[.:]/.test(first) || first === "localhost" || first.startsWith("["));
  const repository = isDomain ? `${first}/${withoutTag.slice(firstSlash + 1).toLowerCase()}` : withoutTag.toLowerCase();
  return `${repository}${tag}${digest}`;
}
