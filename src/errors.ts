/**
 * Error classes of cri-podman. Code anywhere classifies a failure with a {@link CriError}; `grpc/status.ts` alone
 * maps those codes to gRPC status codes.
 * @module
 */

/** The closed set of error classes a CRI call can end with. */
export type ErrorCode =
  | "InvalidArgument"
  | "NotFound"
  | "AlreadyExists"
  | "FailedPrecondition"
  | "PermissionDenied"
  | "Unauthenticated"
  | "ResourceExhausted"
  | "Unavailable"
  | "DeadlineExceeded"
  | "Canceled"
  | "Unimplemented"
  | "Internal"
  | "Unknown";

/** A classified failure: its `code` picks the gRPC status, its message goes to the client as is. */
export class CriError extends Error {
  /** The class of this failure. */
  readonly code: ErrorCode;

  /** Creates an error of class `code` whose message is sent to the client. */
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "CriError";
    this.code = code;
  }
}

/**
 * A failure at start that the user can fix (a missing directory, Podman that does not start): `mod.ts` prints its
 * message as one line and exits with status 2, without a stack trace.
 */
export class StartupError extends Error {
  /** Creates a start-up error; the message names what is wrong and how to fix it. */
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "StartupError";
  }
}

/** Returns an Unimplemented error naming the RPC, for every RPC this runtime does not serve yet. */
export function unimplementedError(rpc: string): CriError {
  return new CriError("Unimplemented", `${rpc} is not implemented by cri-podman yet`);
}

/** Turns anything thrown into a {@link CriError}, keeping classified errors as they are. */
export function toCriError(err: unknown): CriError {
  if (err instanceof CriError) return err;
  if (err instanceof Error && err.name === "AbortError") {
    return new CriError("Canceled", "The call was canceled", { cause: err });
  }
  return new CriError("Unknown", "Internal error", { cause: err });
}
