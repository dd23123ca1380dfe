/**
 * The one place that picks a gRPC status code: every {@link ErrorCode} maps to exactly one (a missing entry is a
 * type error). Unclassified errors become UNKNOWN with a short message; their cause is logged, never sent.
 * @module
 */
import { Metadata, type ServiceError, status } from "@grpc/grpc-js";
import { type CriError, type ErrorCode, toCriError } from "../errors.ts";

/** gRPC status for each error class. */
export const GRPC_STATUS: Readonly<Record<ErrorCode, status>> = {
  InvalidArgument: status.INVALID_ARGUMENT,
  NotFound: status.NOT_FOUND,
  AlreadyExists: status.ALREADY_EXISTS,
  FailedPrecondition: status.FAILED_PRECONDITION,
  PermissionDenied: status.PERMISSION_DENIED,
  Unauthenticated: status.UNAUTHENTICATED,
  ResourceExhausted: status.RESOURCE_EXHAUSTED,
  Unavailable: status.UNAVAILABLE,
  DeadlineExceeded: status.DEADLINE_EXCEEDED,
  Canceled: status.CANCELLED,
  Unimplemented: status.UNIMPLEMENTED,
  Internal: status.INTERNAL,
  Unknown: status.UNKNOWN,
};

/** Turns anything a handler threw into the grpc-js error sent to the client, and the classified error to log. */
export function toServiceError(err: unknown): { serviceError: Partial<ServiceError>; error: CriError } {
  const error = toCriError(err);
  return {
    error,
    serviceError: { code: GRPC_STATUS[error.code], details: error.message, metadata: new Metadata() },
  };
}
