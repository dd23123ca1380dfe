import assert from "node:assert/strict";
import { commandStatus, goJson, protocolErrorPayload, statusPayload } from "./status.ts";

const text = (bytes: Uint8Array | undefined) => bytes && new TextDecoder().decode(bytes);

Deno.test("statusPayload() in v4 writes kubelet's Status JSON, field for field as Go marshals metav1.Status", () => {
  assert.equal(text(statusPayload({ kind: "exit", exitCode: 0 }, "v4")), '{"metadata":{},"status":"Success"}');
  assert.equal(
    text(statusPayload({ kind: "exit", exitCode: 3 }, "v4", ["sh", "-c", "exit 3"])),
    '{"metadata":{},"status":"Failure","message":"command terminated with non-zero exit code: error executing command ' +
      '[sh -c exit 3], exit code 3","reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"3"}]}}',
  );
  assert.equal(
    text(statusPayload({ kind: "error", message: "container not running" }, "v4")),
    '{"metadata":{},"status":"Failure","message":"Internal error occurred: container not running",' +
      '"reason":"InternalError","details":{"causes":[{"message":"container not running"}]},"code":500}',
  );
});

Deno.test("statusPayload() in v1 writes nothing on success and the message as text on failure", () => {
  assert.equal(statusPayload({ kind: "exit", exitCode: 0 }, "v1"), undefined);
  assert.equal(
    text(statusPayload({ kind: "exit", exitCode: 137 }, "v1")),
    "command terminated with non-zero exit code: exit code 137",
  );
  assert.equal(text(statusPayload({ kind: "error", message: "boom" }, "v1")), "Internal error occurred: boom");
});

Deno.test("commandStatus() carries the exit code as the ExitCode cause client-go parses", () => {
  const status = commandStatus({ kind: "exit", exitCode: 255 }, ["false"]);
  assert.equal(status.reason, "NonZeroExitCode");
  assert.deepEqual(status.details?.causes, [{ reason: "ExitCode", message: "255" }]);
});

Deno.test("protocolErrorPayload() is a 400 Status (v4) or its message (v1)", () => {
  assert.equal(
    text(protocolErrorPayload("bad", "v4")),
    '{"metadata":{},"status":"Failure","message":"protocol error: bad","reason":"BadRequest","code":400}',
  );
  assert.equal(text(protocolErrorPayload("bad", "v1")), "protocol error: bad");
});

Deno.test("goJson() escapes as Go's encoding/json does", () => {
  assert.equal(goJson({ m: "<a&b>\u2028\u2029" }), '{"m":"\\u003ca\\u0026b\\u003e\\u2028\\u2029"}');
  assert.equal(goJson({ m: "\ud800x" }), '{"m":"\ufffdx"}');
  assert.equal(goJson({ m: 'q"\\\n\t' }), '{"m":"q\\"\\\\\\n\\t"}');
  assert.equal(
    text(statusPayload({ kind: "error", message: "a <b> & c\u2028\ud800" }, "v4")),
    '{"metadata":{},"status":"Failure","message":"Internal error occurred: a \\u003cb\\u003e \\u0026 c\\u2028\ufffd",' +
      '"reason":"InternalError","details":{"causes":[{"message":"a \\u003cb\\u003e \\u0026 c\\u2028\ufffd"}]},"code":500}',
  );
});
