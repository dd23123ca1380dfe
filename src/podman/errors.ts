/**
 * Classifies failures of libpod requests: HTTP statuses, socket errors and messages Podman streams back become
 * {@link CriError}s, keeping Podman's own message.
 * @module
 */
import { CriError, type ErrorCode } from "../errors.ts";

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

/** Maps a libpod HTTP status to an error class. */
export function codeForStatus(status: number): ErrorCode {
  if (status === 400) return "InvalidArgument";
  if (status === 401) return "Unauthenticated";
  if (status === 403) return "PermissionDenied";
  if (status === 404) return "NotFound";
  if (status === 409) return "FailedPrecondition";
  if (status === 503) return "Unavailable";
  return "Unknown";
}

/** Builds the error for a libpod response with a non-success status; `what` says what we tried. */
export function errorForStatus(what: string, status: number, body: unknown): CriError {
  const message = podmanMessage(body);
  return new CriError(codeForStatus(status), `${what}: Podman returned ${status}: ${message}`);
}

/** Classifies an error thrown while talking to Podman (socket errors, aborts) for the action `what`. */
export function errorForTransport(what: string, err: unknown): CriError {
  if (err instanceof CriError) return err;
  const code = errnoOf(err);
  if (code && UNREACHABLE.has(code)) {
    return new CriError("Unavailable", `${what}: Podman is not reachable (${code})`, { cause: err });
  }
  const name = (err as { name?: string } | null)?.name;
  if (name === "TimeoutError" || code === "UND_ERR_HEADERS_TIMEOUT" || code === "UND_ERR_BODY_TIMEOUT") {
    return new CriError("DeadlineExceeded", `${what}: deadline exceeded`, { cause: err });
  }
  if (name === "AbortError" || code === "UND_ERR_ABORTED") {
    return new CriError("Canceled", `${what}: canceled`, { cause: err });
  }
  return new CriError("Unknown", `${what}: ${(err as Error)?.message ?? String(err)}`, { cause: err });
}

/** Classifies an error message that Podman sent inside a streamed (200) response, as image pulls do. */
export function codeForStreamedMessage(message: string): ErrorCode {
  const m = message.toLowerCase();
  if (m.includes("invalid reference format") || m.includes("repository name must")) return "InvalidArgument";
  if (
    m.includes("unauthorized") || m.includes("authentication required") || /\b401\b/.test(m) ||
    m.includes("incorrect username or password")
  ) return "Unauthenticated";
  if (m.includes("denied")) return "PermissionDenied";
  if (
    m.includes("manifest unknown") || m.includes("name unknown") || m.includes("not found") ||
    m.includes("no such image") || m.includes("image not known")
  ) return "NotFound";
  if (m.includes("connection refused") || m.includes("no such host") || m.includes("i/o timeout")) {
    return "Unavailable";
  }
  return "Unknown";
}

/** Extracts the human message from a libpod error body (`{ cause, message, response }`). */
export function podmanMessage(body: unknown): string {
  if (body && typeof body === "object") {
    const b = body as { message?: unknown; cause?: unknown; Errs?: unknown };
    if (typeof b.message === "string" && b.message) return b.message;
    // Pod start/stop/kill report per-container failures as {"Errs": [...], "Id": ...}.
    if (Array.isArray(b.Errs) && b.Errs.length > 0) return b.Errs.map(String).join("; ");
    if (typeof b.cause === "string" && b.cause) return b.cause;
  }
  if (typeof body === "string" && body) return body.trim().slice(0, 500);
  return "(no message)";
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
