import assert from "node:assert/strict";
import { CriError, type ErrorCode } from "../errors.ts";
import {
  errorForStatus,
  errorForTransport,
  FAILURE_CODES,
  failureForPullMessage,
  failureForStatus,
  isPodmanFailure,
  PodmanError,
  type PodmanFailure,
  podmanMessage,
  unlessNotFound,
} from "./errors.ts";

/** The error class a bare status gives (no message to go on). */
const codeForStatus = (status: number) => FAILURE_CODES[failureForStatus(status, "")];
/** The error class of a message Podman streams inside a 200 answer. */
const codeForStreamedMessage = (message: string) => FAILURE_CODES[failureForPullMessage(message)];

const ACTION = 'Cannot stop container "4f2a9c"';

/** An error carrying a socket-style `code`, as Node and undici throw them. */
function errno(code: string, message = `connect ${code} /run/user/1000/podman/podman.sock`): Error {
  return Object.assign(new Error(message), { code });
}

Deno.test("codeForStatus()", async (t) => {
  const cases: [number, ErrorCode][] = [
    [400, "InvalidArgument"],
    [401, "Unauthenticated"],
    [403, "PermissionDenied"],
    [404, "NotFound"],
    [409, "FailedPrecondition"],
    [503, "Unavailable"],
    [500, "Unknown"],
    [502, "Unknown"],
    [418, "Unknown"],
  ];
  for (const [status, code] of cases) {
    await t.step(`codeForStatus() maps ${status} to ${code}`, () => {
      assert.equal(codeForStatus(status), code);
    });
  }
});

Deno.test("errorForStatus()", async (t) => {
  await t.step("errorForStatus() names the action, the status and Podman's message", () => {
    const err = errorForStatus(ACTION, 404, {
      cause: "no such container",
      message: 'no container with name or ID "4f2a9c" found: no such container',
      response: 404,
    });
    assert.ok(err instanceof CriError);
    assert.equal(err.code, "NotFound");
    assert.equal(
      err.message,
      'Cannot stop container "4f2a9c": Podman returned 404: no container with name or ID "4f2a9c" found: no such container',
    );
  });

  await t.step("errorForStatus() classifies a 500 as Unknown and keeps a text body", () => {
    const err = errorForStatus(ACTION, 500, "  internal trouble\n");
    assert.equal(err.code, "Unknown");
    assert.equal(err.message, `${ACTION}: Podman returned 500: internal trouble`);
  });

  await t.step("errorForStatus() says so when Podman sent no message", () => {
    assert.equal(errorForStatus(ACTION, 409, undefined).message, `${ACTION}: Podman returned 409: (no message)`);
  });
});

Deno.test("errorForTransport()", async (t) => {
  const unreachable: [string, unknown, string][] = [
    ["ECONNREFUSED", errno("ECONNREFUSED"), "ECONNREFUSED"],
    ["ENOENT (no socket file)", errno("ENOENT"), "ENOENT"],
    ["ECONNRESET", errno("ECONNRESET"), "ECONNRESET"],
    ["EPIPE", errno("EPIPE"), "EPIPE"],
    ["UND_ERR_SOCKET", errno("UND_ERR_SOCKET", "other side closed"), "UND_ERR_SOCKET"],
    ["UND_ERR_CLOSED", errno("UND_ERR_CLOSED", "The client is destroyed"), "UND_ERR_CLOSED"],
    ["UND_ERR_CONNECT_TIMEOUT", errno("UND_ERR_CONNECT_TIMEOUT", "Connect Timeout Error"), "UND_ERR_CONNECT_TIMEOUT"],
    [
      "ECONNREFUSED as the cause of a fetch failure",
      new TypeError("fetch failed", { cause: errno("ECONNREFUSED") }),
      "ECONNREFUSED",
    ],
    [
      "ENOENT three causes deep",
      new Error("outer", { cause: new Error("middle", { cause: new Error("inner", { cause: errno("ENOENT") }) }) }),
      "ENOENT",
    ],
    [
      "UND_ERR_SOCKET wrapping ECONNRESET",
      Object.assign(new Error("other side closed", { cause: errno("ECONNRESET") }), { code: "UND_ERR_SOCKET" }),
      "UND_ERR_SOCKET",
    ],
    ["a plain object with a code", { code: "ECONNREFUSED" }, "ECONNREFUSED"],
  ];
  for (const [what, err, code] of unreachable) {
    await t.step(`errorForTransport() gives Unavailable naming the action for ${what}`, () => {
      const out = errorForTransport(ACTION, err);
      assert.equal(out.code, "Unavailable");
      assert.equal(out.message, `${ACTION}: Podman is not reachable (${code})`);
      assert.equal(out.cause, err);
    });
  }

  await t.step("errorForTransport() skips codes that are not socket errors on the way down the cause chain", () => {
    const err = Object.assign(new Error("wrapper", { cause: errno("ECONNREFUSED") }), { code: "ERR_SOMETHING" });
    assert.equal(errorForTransport(ACTION, err).code, "Unavailable");
  });

  await t.step("errorForTransport() gives up on a cause chain deeper than it follows", () => {
    let err: Error = errno("ECONNREFUSED");
    for (let i = 0; i < 10; i++) err = new Error(`level ${i}`, { cause: err });
    assert.equal(errorForTransport(ACTION, err).code, "Unknown");
  });

  await t.step("errorForTransport() survives a cyclic cause chain", () => {
    const a = new Error("a");
    const b = new Error("b", { cause: a });
    (a as { cause?: unknown }).cause = b;
    assert.equal(errorForTransport(ACTION, a).code, "Unknown");
  });

  const classified: [string, unknown, ErrorCode, string][] = [
    ["an AbortError as Canceled", new DOMException("The operation was aborted", "AbortError"), "Canceled", "canceled"],
    [
      "undici's UND_ERR_ABORTED as Canceled",
      errno("UND_ERR_ABORTED", "Request aborted"),
      "Canceled",
      "canceled",
    ],
    [
      "a TimeoutError as DeadlineExceeded",
      new DOMException("Signal timed out", "TimeoutError"),
      "DeadlineExceeded",
      "deadline exceeded",
    ],
    [
      "UND_ERR_HEADERS_TIMEOUT as DeadlineExceeded",
      errno("UND_ERR_HEADERS_TIMEOUT", "Headers Timeout Error"),
      "DeadlineExceeded",
      "deadline exceeded",
    ],
    [
      "UND_ERR_BODY_TIMEOUT as DeadlineExceeded",
      errno("UND_ERR_BODY_TIMEOUT", "Body Timeout Error"),
      "DeadlineExceeded",
      "deadline exceeded",
    ],
  ];
  for (const [what, err, code, detail] of classified) {
    await t.step(`errorForTransport() classifies ${what}`, () => {
      const out = errorForTransport(ACTION, err);
      assert.equal(out.code, code);
      assert.equal(out.message, `${ACTION}: ${detail}`);
      assert.equal(out.cause, err);
    });
  }

  await t.step("errorForTransport() classifies the reason of AbortSignal.timeout() as DeadlineExceeded", async () => {
    const signal = AbortSignal.timeout(0);
    await new Promise((resolve) => signal.addEventListener("abort", resolve, { once: true }));
    assert.equal(errorForTransport(ACTION, signal.reason).code, "DeadlineExceeded");
  });

  await t.step("errorForTransport() classifies the reason of an aborted controller as Canceled", () => {
    const controller = new AbortController();
    controller.abort();
    assert.equal(errorForTransport(ACTION, controller.signal.reason).code, "Canceled");
  });

  await t.step("errorForTransport() returns a CriError as it is", () => {
    const err = new CriError("NotFound", "gone");
    assert.equal(errorForTransport(ACTION, err), err);
  });

  await t.step("errorForTransport() gives anything else as Unknown with its message", () => {
    const err = new Error("something odd");
    const out = errorForTransport(ACTION, err);
    assert.equal(out.code, "Unknown");
    assert.equal(out.message, `${ACTION}: something odd`);
    assert.equal(out.cause, err);
  });

  await t.step("errorForTransport() copes with thrown non-errors", () => {
    assert.equal(errorForTransport(ACTION, "boom").message, `${ACTION}: boom`);
    assert.equal(errorForTransport(ACTION, null).message, `${ACTION}: null`);
    assert.equal(errorForTransport(ACTION, undefined).message, `${ACTION}: undefined`);
  });
});

Deno.test("codeForStreamedMessage()", async (t) => {
  const cases: [string, ErrorCode][] = [
    ["unauthorized: authentication required", "Unauthenticated"],
    [
      "initializing source docker://127.0.0.1:5000/private:latest: reading manifest latest in " +
      "127.0.0.1:5000/private: unauthorized: authentication required",
      "Unauthenticated",
    ],
    ['Error: authenticating creds for "quay.io": incorrect username or password', "Unauthenticated"],
    ["received unexpected HTTP status: 401 Unauthorized", "Unauthenticated"],
    ["manifest unknown", "NotFound"],
    [
      "initializing source docker://docker.io/library/busybox:nope: reading manifest nope in " +
      "docker.io/library/busybox: manifest unknown",
      "NotFound",
    ],
    ["reading manifest latest in quay.io/x/y: name unknown: repository not found", "NotFound"],
    ["localhost/x: image not known", "NotFound"],
    ["no such image", "NotFound"],
    ["invalid reference format", "InvalidArgument"],
    ['Error: parsing reference "Bad//Ref": invalid reference format', "InvalidArgument"],
    ["repository name must be lowercase", "InvalidArgument"],
    [
      "reading manifest latest in docker.io/library/nonexistent: requested access to the resource is denied",
      "PermissionDenied",
    ],
    [
      'pinging container registry 127.0.0.1:5000: Get "https://127.0.0.1:5000/v2/": dial tcp 127.0.0.1:5000: ' +
      "connect: connection refused",
      "Unavailable",
    ],
    ["dial tcp: lookup registry.invalid on 127.0.0.53:53: no such host", "Unavailable"],
    ["read tcp 10.0.0.2:50000->10.0.0.3:443: i/o timeout", "Unavailable"],
    ["UNAUTHORIZED: Authentication Required", "Unauthenticated"],
    ["writing blob: storing blob to file: no space left on device", "Unknown"],
    ["", "Unknown"],
  ];
  for (const [message, code] of cases) {
    const label = message.length > 70 ? `${message.slice(0, 70)}…` : message;
    await t.step(`codeForStreamedMessage() classifies ${JSON.stringify(label)} as ${code}`, () => {
      assert.equal(codeForStreamedMessage(message), code);
    });
  }

  const digitsInside: [string, ErrorCode][] = [
    [
      'pinging container registry 127.0.0.1:40123: Get "https://127.0.0.1:40123/v2/": dial tcp 127.0.0.1:40123: ' +
      "connect: connection refused",
      "Unavailable",
    ],
    [
      `reading manifest sha256:${"0".repeat(30)}401${"0".repeat(31)} in 127.0.0.1:5000/x: manifest unknown`,
      "NotFound",
    ],
  ];
  for (const [message, code] of digitsInside) {
    await t.step({
      name: `codeForStreamedMessage() does not read "401" inside a port or digest as Unauthenticated (${code})`,
      fn: () => assert.equal(codeForStreamedMessage(message), code),
    });
  }
});

Deno.test("podmanMessage()", async (t) => {
  const cases: [string, unknown, string][] = [
    [
      "the message of a libpod error body",
      {
        cause: "no such container",
        message: 'no container with name or ID "x" found: no such container',
        response: 404,
      },
      'no container with name or ID "x" found: no such container',
    ],
    ["the cause when the message is empty", { cause: "no such pod", message: "", response: 404 }, "no such pod"],
    ["the cause when there is no message", { cause: "image not known" }, "image not known"],
    ["a text body, trimmed", "  plain text error\n", "plain text error"],
    ["a placeholder for an empty object", {}, "(no message)"],
    ["a placeholder for an empty string", "", "(no message)"],
    ["a placeholder for null", null, "(no message)"],
    ["a placeholder for undefined", undefined, "(no message)"],
    ["a placeholder for non-string fields", { message: 42, cause: false }, "(no message)"],
  ];
  for (const [what, body, want] of cases) {
    await t.step(`podmanMessage() gives ${what}`, () => {
      assert.equal(podmanMessage(body), want);
    });
  }

  await t.step("podmanMessage() cuts a long text body to 500 characters", () => {
    assert.equal(podmanMessage("x".repeat(2000)).length, 500);
  });
});

Deno.test("podmanMessage() reads the per-container errors of pod start/stop/kill answers", () => {
  assert.equal(
    podmanMessage({ Errs: ["starting container x: bind: address already in use", "second"], Id: "abc" }),
    "starting container x: bind: address already in use; second",
  );
});

Deno.test("failureForStatus() gives each Podman 4.3 answer its reason", async (t) => {
  // Messages as Podman 4.3.1 (netavark 1.4, runc 1.1) sent them on the test host.
  const cases: [number, string, PodmanFailure][] = [
    [404, 'no container with name or ID "x" found: no such container', "not-found"],
    [
      500,
      'creating container storage: the container name "k8s_c_p_ns_uid_0" is already in use by 4f2a…',
      "name-in-use",
    ],
    [409, 'adding pod to state: name "k8s_p_ns_uid_0" is in use: pod already exists', "name-in-use"],
    [500, "network name cri-podman already used: network already exists", "name-in-use"],
    [500, "subnet 10.88.0.0/16 is already used on the host or by another config", "subnet-overlap"],
    [500, "container state improper", "not-running"],
    [500, "rootlessport listen tcp 127.0.0.1:8080: bind: address already in use", "address-in-use"],
    [500, "rootlessport listen tcp 0.0.0.0:80: bind: permission denied", "port-privileged"],
    [500, "open /dev/mqueue: no such file or directory", "no-mqueue"],
    [500, 'sysctl "net.ipv4.ip_forward" is not allowed in the hosts network namespace', "sysctl-refused"],
    [409, "image used by 4f2a…: image is in use by a container", "in-use"],
    [409, "network cri-podman is being used", "in-use"],
    [500, "read /proc/28332/cgroup: no such process", "process-gone"],
    [400, "bad parameter", "bad-request"],
    [401, "unauthorized", "unauthenticated"],
    [403, "forbidden", "denied"],
    [503, "service unavailable", "unreachable"],
    // A command that does not exist is the container's failure, not a missing object.
    [500, 'runc create failed: exec: "nope": executable file not found in $PATH', "unknown"],
    [500, "writing blob: no space left on device", "unknown"],
  ];
  for (const [status, message, reason] of cases) {
    await t.step(`failureForStatus() gives ${status} "${message.slice(0, 50)}" the reason ${reason}`, () => {
      assert.equal(failureForStatus(status, message), reason);
    });
  }
});

Deno.test("errorForStatus() carries the reason, the status and a gRPC class that follows from the reason", () => {
  const err = errorForStatus(ACTION, 500, JSON.stringify({ cause: "x", message: "container state improper" }));
  assert.ok(err instanceof PodmanError);
  assert.equal(err.reason, "not-running");
  assert.equal(err.status, 500);
  assert.equal(err.code, FAILURE_CODES["not-running"]);
  assert.equal(err.message, `${ACTION}: Podman returned 500: container state improper`);
});

Deno.test("isPodmanFailure() and unlessNotFound() decide on the reason, never on the message", async () => {
  const notFound = new PodmanError("not-found", "anything at all");
  const other = new PodmanError("unknown", "no such container (but unclassified)");
  assert.ok(isPodmanFailure(notFound, "not-found"));
  assert.ok(isPodmanFailure(notFound));
  assert.ok(!isPodmanFailure(other, "not-found"));
  assert.ok(!isPodmanFailure(new CriError("NotFound", "a CriError is no PodmanError"), "not-found"));
  assert.equal(await unlessNotFound(Promise.reject(notFound)), undefined);
  await assert.rejects(unlessNotFound(Promise.reject(other)), (err) => err === other);
  assert.equal(await unlessNotFound(Promise.resolve(7)), 7);
});

Deno.test("FAILURE_CODES gives every reason a class, and the classes clients act on are the expected ones", () => {
  assert.equal(FAILURE_CODES["not-found"], "NotFound");
  assert.equal(FAILURE_CODES["name-in-use"], "AlreadyExists");
  assert.equal(FAILURE_CODES["unreachable"], "Unavailable");
  assert.equal(FAILURE_CODES["timeout"], "DeadlineExceeded");
  assert.equal(FAILURE_CODES["canceled"], "Canceled");
  assert.equal(FAILURE_CODES["unknown"], "Unknown");
  assert.equal(failureForPullMessage("manifest unknown"), "not-found");
  assert.equal(failureForPullMessage("dial tcp: lookup x: no such host"), "registry-unreachable");
});
