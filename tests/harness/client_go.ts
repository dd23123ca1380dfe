/**
 * How client-go reads the end of a remote command, shared by the test clients of both transports: its
 * `errorDecoderV4` (tools/remotecommand/v4.go) turns the Status on the error stream into success, a `CodeExitError`
 * (exit code), or another error.
 * @module
 */

/** How a remote command ended, as client-go's executor reports it. */
export type ExitResult =
  /** `StreamWithContext` returned nil. */
  | { kind: "success" }
  /** A `CodeExitError`: client-go's own message and the exit code. */
  | { kind: "exit"; code: number; message: string }
  /** Any other error, with its text. */
  | { kind: "error"; message: string };

/** `errorDecoderV4.decode` of a non-empty error stream (v4 and v5 protocols). */
export function decodeStatusV4(text: string): ExitResult {
  let status: {
    status?: string;
    reason?: string;
    message?: string;
    details?: { causes?: { reason?: string; message?: string }[] };
  };
  try {
    status = JSON.parse(text);
  } catch (err) {
    return {
      kind: "error",
      message: `error stream protocol error: ${(err as Error).message} in ${JSON.stringify(text)}`,
    };
  }
  if (status.status === "Success") return { kind: "success" };
  if (status.status !== "Failure") return { kind: "error", message: "error stream protocol error: unknown error" };
  if (status.reason === "NonZeroExitCode") {
    if (!status.details) return { kind: "error", message: "error stream protocol error: details must be set" };
    for (const cause of status.details.causes ?? []) {
      if (cause.reason !== "ExitCode") continue;
      const rc = /^[0-9]+$/.test(cause.message ?? "") ? Number(cause.message) : NaN; // strconv.ParseUint(m, 10, 8)
      if (!(rc <= 255)) {
        return { kind: "error", message: `error stream protocol error: invalid exit code value "${cause.message}"` };
      }
      return { kind: "exit", code: rc, message: `command terminated with exit code ${rc}` };
    }
    return { kind: "error", message: "error stream protocol error: no ExitCode cause given" };
  }
  return { kind: "error", message: status.message ?? "" };
}
