import assert from "node:assert/strict";
import { errorStreamPayload, REMOTE_COMMAND_PROTOCOLS } from "./exit_status.ts";

const text = (bytes: Uint8Array | undefined) => bytes && new TextDecoder().decode(bytes);

Deno.test("errorStreamPayload() writes the JSON Status under v4, success included", () => {
  assert.equal(
    text(errorStreamPayload("v4.channel.k8s.io", { kind: "exit", exitCode: 0 })),
    '{"metadata":{},"status":"Success"}',
  );
  assert.match(text(errorStreamPayload("v4.channel.k8s.io", { kind: "exit", exitCode: 3 }, ["false"]))!, /"code"|"3"/);
});

Deno.test("errorStreamPayload() writes the message as text before v4, and nothing on success", () => {
  for (const protocol of REMOTE_COMMAND_PROTOCOLS.slice(1)) {
    assert.equal(errorStreamPayload(protocol, { kind: "exit", exitCode: 0 }), undefined, protocol);
    assert.equal(
      text(errorStreamPayload(protocol, { kind: "exit", exitCode: 137 }, ["sleep", "9"])),
      "command terminated with non-zero exit code: error executing command [sleep 9], exit code 137",
    );
    assert.equal(
      text(errorStreamPayload(protocol, { kind: "error", message: "boom" })),
      "Internal error occurred: boom",
    );
  }
});
