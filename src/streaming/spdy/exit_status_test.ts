import assert from "node:assert/strict";
import { statusPayload } from "../status.ts";
import { errorStreamPayload, REMOTE_COMMAND_PROTOCOLS } from "./exit_status.ts";

const text = (bytes: Uint8Array | undefined) => bytes && new TextDecoder().decode(bytes);
const outcomes = [
  { kind: "exit", exitCode: 0 },
  { kind: "exit", exitCode: 137 },
  { kind: "error", message: "boom" },
] as const;

Deno.test("errorStreamPayload() writes the JSON Status under v4 only, the message as text before it", () => {
  for (const outcome of outcomes) {
    for (const protocol of REMOTE_COMMAND_PROTOCOLS) {
      const format = protocol === "v4.channel.k8s.io" ? "v4" : "v1";
      assert.equal(
        text(errorStreamPayload(protocol, outcome, ["sleep", "9"])),
        text(statusPayload(outcome, format, ["sleep", "9"])),
        `${protocol} ${JSON.stringify(outcome)}`,
      );
    }
  }
  assert.equal(errorStreamPayload("v3.channel.k8s.io", outcomes[0]), undefined, "v1 statuses say nothing on success");
  assert.equal(
    text(errorStreamPayload("v4.channel.k8s.io", outcomes[0])),
    '{"metadata":{},"status":"Success"}',
    "v4 says Success",
  );
});
