/**
 * The SPDY/3.1 transport of the streaming server: what client-go's `remotecommand` and `portforward` packages (kubectl,
 * crictl, critest) speak after an HTTP/1.1 upgrade, framed as github.com/moby/spdystream does.
 *
 * ```ts
 * server.on("upgrade", async (req, socket, head) => {
 *   const accepted = acceptSpdy(req, socket, head, { protocols: REMOTE_COMMAND_PROTOCOLS });
 *   if (!accepted.ok) return; // 400/403 already answered
 *   try {
 *     const cmd = await remoteCommandOverSpdy(accepted.session, accepted.protocol, options, { command: ["sh"] });
 *     // … run it: cmd.stdin, cmd.stdout.write(), cmd.resize, cmd.closed …
 *     await cmd.finish({ kind: "exit", exitCode: 0 });
 *   } catch {
 *     // the client did not open its streams in time, or went away
 *   }
 * });
 * // port-forward:
 * const pf = acceptSpdy(req, socket, head, { protocols: PORT_FORWARD_PROTOCOLS });
 * if (pf.ok) for await (const conn of portForwardOverSpdy(pf.session, ports).connections) serve(conn);
 * ```
 * @module
 */

export { acceptSpdy, type AcceptSpdyOptions, type AcceptSpdyResult } from "./upgrade.ts";
export { remoteCommandOverSpdy, type RemoteCommandOverSpdyOptions } from "./remote_command.ts";
export { PORT_FORWARD_PROTOCOLS, portForwardOverSpdy, type PortForwardOverSpdyOptions } from "./port_forward.ts";
export { REMOTE_COMMAND_PROTOCOLS, type RemoteCommandProtocol } from "./exit_status.ts";
export { SpdySession, type SpdySessionOptions, SpdyStream } from "./session.ts";
export { SpdyClosedError, SpdyProtocolError } from "./errors.ts";
