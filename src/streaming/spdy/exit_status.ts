/**
 * The SPDY remote-command subprotocols and what sets them apart: whether a TTY session has a resize stream (v3 on),
 * and what the error stream carries when the command ends (v4 the JSON Status, the older ones — kubelet's
 * v1WriteStatusFunc — its message as text). The Status itself is ../status.ts's.
 * @module
 */

import type { CommandOutcome } from "../session.ts";
import { type StatusFormat, statusPayload } from "../status.ts";

/** The remote-command subprotocols, newest first (k8s.io/apimachinery/pkg/util/remotecommand constants). */
export const REMOTE_COMMAND_PROTOCOLS = [
  "v4.channel.k8s.io",
  "v3.channel.k8s.io",
  "v2.channel.k8s.io",
  "channel.k8s.io",
] as const;

/** One of {@link REMOTE_COMMAND_PROTOCOLS}. */
export type RemoteCommandProtocol = typeof REMOTE_COMMAND_PROTOCOLS[number];

/** What each protocol adds (apimachinery util/remotecommand; kubelet's httpstream.go protocol handlers). */
export const PROTOCOL_RULES: Readonly<Record<RemoteCommandProtocol, { resize: boolean; status: StatusFormat }>> = {
  "v4.channel.k8s.io": { resize: true, status: "v4" },
  "v3.channel.k8s.io": { resize: true, status: "v1" },
  "v2.channel.k8s.io": { resize: false, status: "v1" },
  "channel.k8s.io": { resize: false, status: "v1" },
};

/**
 * The bytes kubelet writes on the error stream for `outcome` under `protocol` (see ../status.ts): v4 the Status as
 * JSON, the older protocols its message as text and nothing on success. Undefined when nothing is written.
 */
export function errorStreamPayload(
  protocol: RemoteCommandProtocol,
  outcome: CommandOutcome,
  command?: readonly string[],
): Uint8Array | undefined {
  return statusPayload(outcome, PROTOCOL_RULES[protocol].status, command);
}
