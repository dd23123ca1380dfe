import assert from "node:assert/strict";
import { Metadata } from "@grpc/grpc-js";
import { CriError, type ErrorCode } from "../errors.ts";
import { GRPC_STATUS, toServiceError } from "./status.ts";

/**
 * The codes on the wire (the gRPC spec's numbers, which grpc-js's `status` enum carries) that kubelet and crictl
 * act on, written as numbers so a slip in the table cannot pass by being restated here.
 */
const ON_THE_WIRE: [ErrorCode, number, string][] = [
  ["NotFound", 5, "kubelet reads it as 'already gone' (cri-api's IsNotFound) after Stop, Remove and Status"],
  ["AlreadyExists", 6, "a sandbox or container of that name exists"],
  ["FailedPrecondition", 9, "the object's state forbids the call, e.g. exec in a stopped container"],
  ["Unavailable", 14, "Podman cannot be reached: a transient failure that clients retry"],
  ["DeadlineExceeded", 4, "kubelet turns it into a timed-out probe for ExecSync"],
  ["Canceled", 1, "the client gave up on the call"],
  ["InvalidArgument", 3, "the request itself is wrong: the same request fails again"],
  ["Unimplemented", 12, "kubelet falls back when an optional RPC answers it (RuntimeConfig, metrics, events)"],
  ["Unknown", 2, "unclassified failures"],
];

/** Error classes that deliberately share a gRPC status with another; none do today. */
const SHARED_ON_PURPOSE: ErrorCode[][] = [];

const CODES = Object.keys(GRPC_STATUS) as ErrorCode[];

Deno.test("GRPC_STATUS", async (t) => {
  for (const [code, wire, why] of ON_THE_WIRE) {
    await t.step(`GRPC_STATUS sends ${code} as ${wire}: ${why}`, () => {
      assert.equal(GRPC_STATUS[code], wire);
    });
  }

  await t.step("GRPC_STATUS sends each error class as the gRPC status of the same name", () => {
    // CriError's class names are the gRPC names in CamelCase; only "Canceled" is spelled as in Go.
    const spelling: Partial<Record<ErrorCode, string>> = { Canceled: "CANCELLED" };
    const NAMES = [
      "OK",
      "CANCELLED",
      "UNKNOWN",
      "INVALID_ARGUMENT",
      "DEADLINE_EXCEEDED",
      "NOT_FOUND",
      "ALREADY_EXISTS",
      "PERMISSION_DENIED",
      "RESOURCE_EXHAUSTED",
      "FAILED_PRECONDITION",
      "ABORTED",
      "OUT_OF_RANGE",
      "UNIMPLEMENTED",
      "INTERNAL",
      "UNAVAILABLE",
      "DATA_LOSS",
      "UNAUTHENTICATED",
    ]; // indexed by the spec's numbers
    for (const code of CODES) {
      const want = spelling[code] ?? code.replace(/(?<=[a-z])(?=[A-Z])/g, "_").toUpperCase();
      assert.equal(NAMES[GRPC_STATUS[code]], want, code);
    }
  });

  await t.step("GRPC_STATUS gives each error class its own status, unless sharing is on purpose", () => {
    const byStatus = new Map<number, ErrorCode[]>();
    for (const code of CODES) byStatus.set(GRPC_STATUS[code], [...(byStatus.get(GRPC_STATUS[code]) ?? []), code]);
    const shared = [...byStatus.values()].filter((codes) => codes.length > 1).map((codes) => codes.sort());
    assert.deepEqual(shared, SHARED_ON_PURPOSE.map((codes) => [...codes].sort()));
  });

  await t.step("GRPC_STATUS never answers OK, and only with statuses that exist", () => {
    for (const code of CODES) {
      assert.ok(Number.isInteger(GRPC_STATUS[code]) && GRPC_STATUS[code] >= 1 && GRPC_STATUS[code] <= 16, code);
    }
  });
});

Deno.test("toServiceError()", async (t) => {
  await t.step("toServiceError() sends a CriError's message as it is, with its class's status", () => {
    const err = new CriError("NotFound", 'Cannot stop container "4f2a9c": Podman returned 404: no such container');
    const { serviceError, error } = toServiceError(err);
    assert.equal(error, err);
    assert.equal(serviceError.code, 5);
    assert.equal(serviceError.details, err.message);
  });

  await t.step("toServiceError() sends a CriError's message without its cause", () => {
    const cause = new Error("dial unix /home/alice/.secret/podman.sock: password=hunter2");
    const err = new CriError("Unavailable", "Podman is not reachable", { cause });
    const { serviceError, error } = toServiceError(err);
    assert.equal(serviceError.code, 14);
    assert.equal(serviceError.details, "Podman is not reachable");
    assert.deepEqual(serviceError.metadata?.getMap(), {}, "nothing rides in the metadata either");
    assert.equal(error.cause, cause, "the cause is kept for the log");
  });

  await t.step("toServiceError() sends a CriError of every class with GRPC_STATUS's status", () => {
    for (const code of CODES) {
      assert.equal(toServiceError(new CriError(code, "m")).serviceError.code, GRPC_STATUS[code]);
    }
  });

  await t.step("toServiceError() sends a plain Error as UNKNOWN with a short message, its own kept back", () => {
    const err = new Error("ECONNREFUSED /home/alice/.secret/socket password=hunter2");
    const { serviceError, error } = toServiceError(err);
    assert.equal(serviceError.code, 2);
    assert.equal(serviceError.details, "Internal error");
    assert.deepEqual(serviceError.metadata?.getMap(), {});
    assert.equal(error.code, "Unknown");
    assert.equal(error.cause, err, "the cause is kept for the log");
  });

  await t.step("toServiceError() sends a thrown non-error as UNKNOWN with the short message", () => {
    for (const thrown of ["a string with a secret", 42, null, undefined, { message: "an object" }]) {
      const { serviceError } = toServiceError(thrown);
      assert.equal(serviceError.code, 2);
      assert.equal(serviceError.details, "Internal error");
    }
  });

  await t.step("toServiceError() sends an AbortError as CANCELLED", () => {
    const { serviceError, error } = toServiceError(new DOMException("The operation was aborted", "AbortError"));
    assert.equal(serviceError.code, 1);
    assert.equal(error.code, "Canceled");
  });

  await t.step("toServiceError() gives each error its own metadata", () => {
    const a = toServiceError(new Error("a")).serviceError.metadata;
    const b = toServiceError(new Error("b")).serviceError.metadata;
    assert.ok(a instanceof Metadata && b instanceof Metadata);
    assert.notEqual(a, b);
  });
});
