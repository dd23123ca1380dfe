/**
 * The HTTP/1.1 upgrade to SPDY/3.1 on the server side: subprotocol negotiation as
 * k8s.io/apimachinery/pkg/util/httpstream.Handshake does it, then the 101 of httpstream/spdy/upgrade.go
 * (`Connection: Upgrade`, `Upgrade: SPDY/3.1`, and the chosen `X-Stream-Protocol-Version`).
 * @module
 */

import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { refuseUpgrade } from "../refusal.ts";
import { SpdySession, type SpdySessionOptions } from "./session.ts";

/** Options of {@link acceptSpdy}. */
export interface AcceptSpdyOptions<P extends string> {
  /** The subprotocols this endpoint serves, e.g. REMOTE_COMMAND_PROTOCOLS or PORT_FORWARD_PROTOCOLS. */
  protocols: readonly P[];
  /** Options of the session (role is always server). */
  session?: Omit<SpdySessionOptions, "role" | "initialBytes">;
}

/** What {@link acceptSpdy} did: switched protocols, or answered with an error and closed the connection. */
export type AcceptSpdyResult<P extends string> =
  | { ok: true; protocol: P; session: SpdySession }
  | { ok: false; status: 400 | 403; message: string };

/**
 * Negotiates and switches `socket` (from node:http's 'upgrade' event, with its `head`) to SPDY/3.1. The client's
 * `X-Stream-Protocol-Version` values (repeated headers and comma lists alike) are tried in the client's order and the
 * first one in `protocols` wins. With none offered the answer is 400, with none in common 403 listing ours in
 * `X-Accepted-Stream-Protocol-Versions`, without the upgrade headers 400 — each with a text body, as kubelet answers.
 * An 'error' listener is put on the socket first: an unheard socket error aborts the Deno process.
 */
export function acceptSpdy<P extends string>(
  req: IncomingMessage,
  socket: Duplex,
  head: Uint8Array,
  options: AcceptSpdyOptions<P>,
): AcceptSpdyResult<P> {
  socket.on("error", () => {});
  const offered = headerValues(req, "x-stream-protocol-version").flatMap((value) =>
    value.split(",").map((p) => p.trim()).filter((p) => p.length > 0)
  );
  if (offered.length === 0) {
    return refuse(socket, 400, "unable to upgrade: X-Stream-Protocol-Version is required");
  }
  const protocol = offered.find((p): p is P => (options.protocols as readonly string[]).includes(p));
  if (protocol === undefined) {
    // Handshake's message prints Go slices: "[a b]".
    return refuse(
      socket,
      403,
      `unable to upgrade: unable to negotiate protocol: client supports [${offered.join(" ")}], server accepts [${
        options.protocols.join(" ")
      }]`,
      options.protocols.map((p) => `X-Accepted-Stream-Protocol-Versions: ${p}`),
    );
  }
  // responseUpgrader.UpgradeResponse: Connection must mention "upgrade" and Upgrade "spdy/3.1", case-insensitively.
  const connection = headerValues(req, "connection").join(",").toLowerCase();
  const upgrade = headerValues(req, "upgrade").join(",").toLowerCase();
  if (!connection.includes("upgrade") || !upgrade.includes("spdy/3.1")) {
    return refuse(socket, 400, "unable to upgrade: missing upgrade headers in request");
  }
  if ("setNoDelay" in socket && typeof socket.setNoDelay === "function") socket.setNoDelay(true);
  socket.write(
    "HTTP/1.1 101 Switching Protocols\r\n" +
      "Connection: Upgrade\r\n" +
      "Upgrade: SPDY/3.1\r\n" +
      `X-Stream-Protocol-Version: ${protocol}\r\n\r\n`,
  );
  const session = new SpdySession(socket, { ...options.session, role: "server", initialBytes: head });
  return { ok: true, protocol, session };
}

// Every value of a header, repeated or not (rawHeaders keeps repeats that `headers` would join or drop).
function headerValues(req: IncomingMessage, name: string): string[] {
  const values: string[] = [];
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    if (req.rawHeaders[i]!.toLowerCase() === name) values.push(req.rawHeaders[i + 1]!);
  }
  return values;
}

// An error answer as Go's http.Error writes it (text/plain, nosniff, the message and a newline), then the end.
function refuse(socket: Duplex, status: 400 | 403, message: string, extra: string[] = []): AcceptSpdyResult<never> {
  refuseUpgrade(socket, status, { body: `${message}\n`, contentType: "text/plain; charset=utf-8", headers: extra });
  return { ok: false, status, message };
}
