import assert from "node:assert/strict";
import { Metadata, status } from "@grpc/grpc-js";
import { CriError, type ErrorCode } from "../errors.ts";
import { GRPC_STATUS, toServiceError } from "./status.ts";

const EXPECTED: Record<ErrorCode, status> = {
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

Deno.test("GRPC_STATUS", async (t) => {
  for (const [code, want] of Object.entries(EXPECTED) as [ErrorCode, status][]) {
    await t.step(`GRPC_STATUS maps ${code} to ${status[want]}`, () => {
      assert.equal(GRPC_STATUS[code], want);
    });
  }

  await t.step("GRPC_STATUS maps every error class and nothing else", () => {
    assert.deepEqual(Object.keys(GRPC_STATUS).sort(), Object.keys(EXPECTED).sort());
  });

  await t.step("GRPC_STATUS gives each error class its own status", () => {
    const values = Object.values(GRPC_STATUS);
    assert.equal(new Set(values).size, values.length);
  });

  await t.step("GRPC_STATUS never answers OK", () => {
    assert.ok(!Object.values(GRPC_STATUS).includes(status.OK));
  });
});

Deno.test("toServiceError()", async (t) => {
  await t.step("toServiceError() keeps a CriError's code and message", () => {
    const err = new CriError("NotFound", 'Cannot stop container "4f2a9c": Podman returned 404: no such container');
    const { serviceError, error } = toServiceError(err);
    assert.equal(error, err);
    assert.equal(serviceError.code, status.NOT_FOUND);
    assert.equal(serviceError.details, err.message);
    assert.ok(serviceError.metadata instanceof Metadata);
  });

  for (const code of Object.keys(EXPECTED) as ErrorCode[]) {
    await t.step(`toServiceError() sends a ${code} CriError as ${status[EXPECTED[code]]}`, () => {
      assert.equal(toServiceError(new CriError(code, "m")).serviceError.code, EXPECTED[code]);
    });
  }

  await t.step("toServiceError() sends a plain Error as UNKNOWN without leaking its message", () => {
    const err = new Error("ECONNREFUSED /home/alice/.secret/socket password=hunter2");
    const { serviceError, error } = toServiceError(err);
    assert.equal(serviceError.code, status.UNKNOWN);
    assert.equal(serviceError.details, "Internal error");
    assert.equal(error.code, "Unknown");
    assert.equal(error.cause, err, "the cause is kept for the log");
  });

  await t.step("toServiceError() sends a thrown non-error as UNKNOWN with the short message", () => {
    for (const thrown of ["a string with a secret", 42, null, undefined, { message: "an object" }]) {
      const { serviceError } = toServiceError(thrown);
      assert.equal(serviceError.code, status.UNKNOWN);
      assert.equal(serviceError.details, "Internal error");
    }
  });

  await t.step("toServiceError() sends an AbortError as CANCELLED", () => {
    const { serviceError, error } = toServiceError(new DOMException("The operation was aborted", "AbortError"));
    assert.equal(serviceError.code, status.CANCELLED);
    assert.equal(error.code, "Canceled");
  });

  await t.step("toServiceError() gives each error its own metadata", () => {
    const a = toServiceError(new Error("a")).serviceError.metadata;
    const b = toServiceError(new Error("b")).serviceError.metadata;
    assert.notEqual(a, b);
  });
});
