/**
 * The answer to an upgrade we refuse (unknown token, too many sessions, a protocol we do not speak): a plain HTTP
 * response on the raw socket, which node:http leaves to us once it emitted 'upgrade'. Both transports and the server
 * use it, so every refusal ends the connection the same way.
 * @module
 */
import type { Duplex } from "node:stream";

/** How long a refused client gets to read the answer and close before the connection is cut. */
const LINGER_MS = 5_000;

const REASONS: Record<number, string> = {
  400: "Bad Request",
  403: "Forbidden",
  404: "Not Found",
  503: "Service Unavailable",
};

/** What a refusal carries besides its status. */
export interface Refusal {
  /** The body, sent as is. */
  body: string;
  /** Its media type. */
  contentType: string;
  /** More header lines (`Name: value`). */
  headers?: readonly string[];
}

/** Writes `status` with `refusal` and closes the connection: at once once sent, or after a short linger at most. */
export function refuseUpgrade(socket: Duplex, status: 400 | 403 | 404 | 503, refusal: Refusal): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const length = new TextEncoder().encode(refusal.body).length;
  socket.end(
    [
      `HTTP/1.1 ${status} ${REASONS[status]}`,
      `Content-Type: ${refusal.contentType}`,
      "X-Content-Type-Options: nosniff",
      ...(refusal.headers ?? []),
      `Content-Length: ${length}`,
      "Connection: close",
      "",
      refusal.body,
    ].join("\r\n"),
  );
  // The client closes once it read the answer; one that does not is cut off.
  const timer = setTimeout(() => socket.destroy(), LINGER_MS);
  socket.once("close", () => clearTimeout(timer));
}
