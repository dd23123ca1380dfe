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

/** What a failed call ends with: the gRPC status and details the client sees, and the classified error to log. */
export interface GrpcFailure {
  code: status;
  details: string;
  error: CriError;
}

/** Classifies anything a handler threw: its gRPC status and the message sent (the cause is not). */
export function toGrpcFailure(err: unknown): GrpcFailure {
  const error = toCriError(err);
  return { code: GRPC_STATUS[error.code], details: error.message, error };
}

/** The grpc-js error object for a failure. */
export function serviceErrorOf(failure: GrpcFailure): Partial<ServiceError> {
  return { code: failure.code, details: failure.details, metadata: new Metadata() };
}

/** Turns anything a handler threw into the grpc-js error sent to the client, and the classified error to log. */
export function toServiceError(err: unknown): { serviceError: Partial<ServiceError>; error: CriError } {
  const failure = toGrpcFailure(err);
  return { serviceError: serviceErrorOf(failure), error: failure.error };
}
