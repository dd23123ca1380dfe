/**
 * How the end of a remote command reaches the client, byte for byte as kubelet writes it on the error stream (SPDY)
 * or channel 3 (WebSocket); both transports use this one module.
 *
 * The Status of each outcome follows kubelet's pkg/kubelet/cri/streaming/remotecommand/exec.go (`ServeExec`):
 * - success: `{status: Success}`;
 * - a non-zero exit: `{status: Failure, reason: NonZeroExitCode, details.causes: [{reason: ExitCode, message: "<code>"}],
 *   message: "command terminated with non-zero exit code: <error>"}`, which client-go's `errorDecoderV4` turns into an
 *   exit code (it parses the cause as an unsigned 8-bit number). `<error>` is the runtime's: containerd says
 *   `error executing command [<argv>], exit code <N>`, and so do we;
 * - a failure to run: `apierrors.NewInternalError(err)`: `{status: Failure, code: 500, reason: InternalError,
 *   details.causes: [{message: err}], message: "Internal error occurred: <err>"}`.
 *
 * Formats: `v4` (v4.channel.k8s.io and v5 — kubelet's `v4WriteStatusFunc`) writes the Status as JSON, success
 * included; `v1` (the older protocols — `v1WriteStatusFunc`) writes nothing on success and the message as text.
 * @module
 */
import type { CommandOutcome } from "./session.ts";

/** A `metav1.Status` with the fields kubelet's remote-command statuses use, in Go's struct order. */
export interface KubeStatus {
  kind?: "Status";
  apiVersion?: "v1";
  metadata: Record<string, never>;
  status: "Success" | "Failure";
  message?: string;
  reason?: string;
  details?: { causes: { reason?: string; message?: string }[] };
  code?: number;
}

/** How a protocol writes its status (see the module documentation). */
export type StatusFormat = "v4" | "v1";

/** The Status kubelet writes for `outcome`; `command` is the exec'd argv (absent for attach). */
export function commandStatus(outcome: CommandOutcome, command?: readonly string[]): KubeStatus {
  if (outcome.kind === "exit") {
    if (outcome.exitCode === 0) return { metadata: {}, status: "Success" };
    const cause = command
      ? `error executing command [${command.join(" ")}], exit code ${outcome.exitCode}`
      : `exit code ${outcome.exitCode}`;
    return {
      metadata: {},
      status: "Failure",
      message: `command terminated with non-zero exit code: ${cause}`,
      // remotecommand.NonZeroExitCodeReason and ExitCodeCauseType; StatusCause.Type marshals as "reason".
      reason: "NonZeroExitCode",
      details: { causes: [{ reason: "ExitCode", message: String(outcome.exitCode) }] },
    };
  }
  return {
    metadata: {},
    status: "Failure",
    message: `Internal error occurred: ${outcome.message}`,
    reason: "InternalError",
    details: { causes: [{ message: outcome.message }] },
    code: 500,
  };
}

/** The bytes the error stream carries for `outcome` in `format`; undefined when nothing is written. */
export function statusPayload(
  outcome: CommandOutcome,
  format: StatusFormat,
  command?: readonly string[],
): Uint8Array | undefined {
  const status = commandStatus(outcome, command);
  if (format === "v4") return new TextEncoder().encode(goJson(status));
  return status.status === "Success" ? undefined : new TextEncoder().encode(status.message ?? "");
}

/**
 * What the error stream carries when the server ends a session because the client broke the protocol: a Status
 * `{status: Failure, code: 400, reason: BadRequest}` (v4), or its message (v1).
 */
export function protocolErrorPayload(reason: string, format: StatusFormat): Uint8Array {
  const message = `protocol error: ${reason}`;
  const status: KubeStatus = { metadata: {}, status: "Failure", message, reason: "BadRequest", code: 400 };
  return new TextEncoder().encode(format === "v4" ? goJson(status) : message);
}

/**
 * JSON as Go's encoding/json writes it: `JSON.stringify` plus Go's HTML-safe escapes (`<`, `>`, `&`, U+2028, U+2029)
 * and U+FFFD for unpaired surrogates (Go strings hold UTF-8, so a lone surrogate cannot reach it). Key order is the
 * object's, which {@link commandStatus} builds in Go's struct order.
 */
export function goJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (typeof v === "string" ? v.toWellFormed() : v))
    .replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}
