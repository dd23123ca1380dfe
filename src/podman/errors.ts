/**
 * Why libpod calls fail: every failure — an HTTP status with Podman's message, a socket error, an abort, an error
 * streamed inside a 200 answer — becomes a {@link PodmanError} with one reason from a closed set. This is the only
 * module that reads Podman's message text; cri/ decides on reasons, never on messages.
 * @module
 */
import { CriError, type ErrorCode } from "../errors.ts";

/** The closed set of reasons a libpod call fails for. */
export type PodmanFailure =
  /** The object does not exist (404, "no such …", an image not known). */
  | "not-found"
  /** A pod, container or network of that name exists already. */
  | "name-in-use"
  /** The object is in use: an image a container was created from, a network with members. */
  | "in-use"
  /** The container exists but does not run ("container state improper"). */
  | "not-running"
  /** A host port of the pod is taken ("bind: address already in use"). */
  | "address-in-use"
  /** A host port of the pod is below the unprivileged port start ("bind: permission denied"). */
  | "port-privileged"
  /** A network's subnet is used by another network or a host route. */
  | "subnet-overlap"
  /** Sharing the host's IPC namespace needs /dev/mqueue, which the host has not mounted. */
  | "no-mqueue"
  /** The kernel refused a sysctl. */
  | "sysctl-refused"
  /**
   * A process Podman was reading exited under it ("read /proc/PID/cgroup: no such process": inspect of a container
   * whose main process ends at that moment). The same read again sees the exit.
   */
  | "process-gone"
  /** Podman refused the request as malformed (400). */
  | "bad-request"
  /** An image reference Podman cannot parse. */
  | "invalid-reference"
  /** The registry refused our credentials, or wanted some. */
  | "unauthenticated"
  /** The registry (or Podman, 403) denied access. */
  | "denied"
  /** The registry could not be reached. */
  | "registry-unreachable"
  /** Podman's socket does not answer (refused, missing, reset), or Podman said 503. */
  | "unreachable"
  /** The call's deadline passed. */
  | "timeout"
  /** The call was cancelled. */
  | "canceled"
  /** Anything else: the client gets UNKNOWN with Podman's (capped) message; the log gets the whole answer. */
  | "unknown";

/** The error class each reason reaches the client as, unless a handler knows better (naming its field). */
export const FAILURE_CODES: Readonly<Record<PodmanFailure, ErrorCode>> = {
  "not-found": "NotFound",
  "name-in-use": "AlreadyExists",
  "in-use": "FailedPrecondition",
  "not-running": "FailedPrecondition",
  "address-in-use": "FailedPrecondition",
  "port-privileged": "FailedPrecondition",
  "subnet-overlap": "FailedPrecondition",
  "no-mqueue": "FailedPrecondition",
  "sysctl-refused": "InvalidArgument",
  "process-gone": "Unavailable",
  "bad-request": "InvalidArgument",
  "invalid-reference": "InvalidArgument",
  "unauthenticated": "Unauthenticated",
  "denied": "PermissionDenied",
  "registry-unreachable": "Unavailable",
  "unreachable": "Unavailable",
  "timeout": "DeadlineExceeded",
  "canceled": "Canceled",
  "unknown": "Unknown",
};

/** A failed libpod call: its reason, and (for HTTP answers) the status. The message names what was attempted. */
export class PodmanError extends CriError {
  /** Why it failed. */
  readonly reason: PodmanFailure;
  /** Podman's HTTP status, when it answered. */
  readonly status: number | undefined;

  /** Creates the error; the class (gRPC code) follows from the reason. */
  constructor(reason: PodmanFailure, message: string, options: { status?: number; cause?: unknown } = {}) {
    super(FAILURE_CODES[reason], message, options.cause === undefined ? {} : { cause: options.cause });
    this.name = "PodmanError";
    this.reason = reason;
    this.status = options.status;
  }
}

/** Tells whether `err` is a libpod failure, of one of `reasons` when given. */
export function isPodmanFailure(err: unknown, ...reasons: PodmanFailure[]): err is PodmanError {
  return err instanceof PodmanError && (reasons.length === 0 || reasons.includes(err.reason));
}

/** Resolves to `undefined` when `promise` rejects with a not-found failure: the idiom of idempotent Stop and Remove. */
export async function unlessNotFound<T>(promise: Promise<T>): Promise<T | undefined> {
  try {
    return await promise;
  } catch (err) {
    if (isPodmanFailure(err, "not-found")) return undefined;
    throw err;
  }
}

/**
 * Podman's messages that tell reasons apart where the status does not (Podman 4.3 answers 500 for most of them), in
 * the order they are tried. Seen on Podman 4.3.1 with netavark 1.4 and runc 1.1.
 */
const MESSAGE_REASONS: ReadonlyArray<[RegExp, PodmanFailure]> = [
  // POST /containers/{id}/exec on a stopped container: cause "container state improper".
  [/container state improper/i, "not-running"],
  // Network create: "network name cri-podman already used: network already exists".
  [/network name .* already used|network already exists/i, "name-in-use"],
  // Network create: "subnet 10.88.0.0/16 is already used on the host or by another config".
  [/subnet .*already used|subnet .*overlap/i, "subnet-overlap"],
  // Container create: 'the container name "x" is already in use by …'; pod create: 'name "x" is in use: pod
  // already exists'.
  [/name "?[^"]*"? is (already )?in use|pod already exists/i, "name-in-use"],
  // Pod start with a taken hostPort: "rootlessport listen tcp 127.0.0.1:80: bind: address already in use".
  [/address already in use/i, "address-in-use"],
  // A hostPort below net.ipv4.ip_unprivileged_port_start: "bind: permission denied".
  [/bind: permission denied/i, "port-privileged"],
  [/\/dev\/mqueue/, "no-mqueue"],
  [/sysctl/i, "sysctl-refused"],
  // Inspect of a container whose process just exited: "read /proc/28332/cgroup: no such process".
  [/\/proc\/\d+\/\S*: no such process/, "process-gone"],
  // Image delete while a container uses it: "image used by …: image is in use by a container".
  [/image is in use|image used by/i, "in-use"],
  [/no such (container|pod|image|network|exec session)\b|image not known/i, "not-found"],
];

/** The reason of a libpod answer with a non-success `status` and Podman's `message`. */
export function failureForStatus(status: number, message: string): PodmanFailure {
  if (status === 404) return "not-found";
  if (status === 400) return "bad-request";
  if (status === 401) return "unauthenticated";
  if (status === 403) return "denied";
  if (status === 503) return "unreachable";
  for (const [pattern, reason] of MESSAGE_REASONS) if (pattern.test(message)) return reason;
  if (status === 409) return "in-use";
  return "unknown";
}

/** Builds the error for a libpod answer with a non-success status; `what` says what we tried. */
export function errorForStatus(what: string, status: number, body: unknown): PodmanError {
  const message = podmanMessage(body);
  return new PodmanError(failureForStatus(status, message), `${what}: Podman returned ${status}: ${message}`, {
    status,
    cause: body,
  });
}

/** Socket-level error codes meaning "nothing (usable) listens on Podman's socket". */
const UNREACHABLE = new Set([
  "ECONNREFUSED",
  "ENOENT",
  "ECONNRESET",
  "EPIPE",
  "ENOTSOCK",
  "UND_ERR_SOCKET",
  "UND_ERR_CLOSED",
  "UND_ERR_CONNECT_TIMEOUT",
]);

/** Classifies an error thrown while talking to Podman (socket errors, aborts) for the action `what`. */
export function errorForTransport(what: string, err: unknown): CriError {
  if (err instanceof CriError) return err;
  const code = errnoOf(err);
  if (code && UNREACHABLE.has(code)) {
    return new PodmanError("unreachable", `${what}: Podman is not reachable (${code})`, { cause: err });
  }
  const name = (err as { name?: string } | null)?.name;
  if (name === "TimeoutError" || code === "UND_ERR_HEADERS_TIMEOUT" || code === "UND_ERR_BODY_TIMEOUT") {
    return new PodmanError("timeout", `${what}: deadline exceeded`, { cause: err });
  }
  if (name === "AbortError" || code === "UND_ERR_ABORTED") {
    return new PodmanError("canceled", `${what}: canceled`, { cause: err });
  }
  return new PodmanError("unknown", `${what}: ${(err as Error)?.message ?? String(err)}`, { cause: err });
}

/** The reason of an error message Podman sent inside a streamed (200) answer, as image pulls do. */
export function failureForPullMessage(message: string): PodmanFailure {
  const m = message.toLowerCase();
  if (m.includes("invalid reference format") || m.includes("repository name must")) return "invalid-reference";
  if (
    m.includes("unauthorized") || m.includes("authentication required") || /\b401\b/.test(m) ||
    m.includes("incorrect username or password")
  ) return "unauthenticated";
  if (m.includes("denied")) return "denied";
  if (
    m.includes("manifest unknown") || m.includes("name unknown") || m.includes("not found") ||
    m.includes("no such image") || m.includes("image not known")
  ) return "not-found";
  if (m.includes("connection refused") || m.includes("no such host") || m.includes("i/o timeout")) {
    return "registry-unreachable";
  }
  return "unknown";
}

/**
 * Reads a libpod error body — JSON `{ cause, message, response }` (or `{ Errs: [...] }` from pod start/stop/kill),
 * or plain text — into its human message, capped at 500 characters. The one body parser of this layer.
 */
export function podmanMessage(body: unknown): string {
  if (typeof body === "string") {
    const parsed = parseJsonObject(body);
    if (parsed !== undefined) return podmanMessage(parsed);
  }
  if (body && typeof body === "object") {
    const b = body as { message?: unknown; cause?: unknown; Errs?: unknown };
    if (typeof b.message === "string" && b.message) return b.message.slice(0, 500);
    if (Array.isArray(b.Errs) && b.Errs.length > 0) return b.Errs.map(String).join("; ").slice(0, 500);
    if (typeof b.cause === "string" && b.cause) return b.cause.slice(0, 500);
  }
  if (typeof body === "string" && body.trim()) return body.trim().slice(0, 500);
  return "(no message)";
}

/** Parses `text` when it is a JSON object, else undefined. */
export function parseJsonObject(text: string): Record<string, unknown> | undefined {
  const trimmed = text.trim();
  if (!trimmed.startsWith("{")) return undefined;
  try {
    const value = JSON.parse(trimmed);
    return value && typeof value === "object" && !Array.isArray(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

function errnoOf(err: unknown): string | undefined {
  for (let e = err as { code?: unknown; cause?: unknown } | undefined, i = 0; e && i < 5; i++) {
    if (typeof e.code === "string") {
      if (UNREACHABLE.has(e.code) || e.code.startsWith("UND_ERR")) return e.code;
    }
    e = e.cause as typeof e;
  }
  return undefined;
}
