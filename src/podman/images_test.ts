import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { encodeRegistryAuth } from "./images.ts";

function decode(header: string): unknown {
  // What Podman does: Go's base64.URLEncoding (URL alphabet, padding required), then JSON.
  assert.match(header, /^[A-Za-z0-9_-]*={0,2}$/, "URL-safe alphabet");
  assert.equal(header.length % 4, 0, "padded to a multiple of 4");
  return JSON.parse(Buffer.from(header.replaceAll("-", "+").replaceAll("_", "/"), "base64").toString("utf8"));
}

Deno.test("encodeRegistryAuth()", async (t) => {
  await t.step("encodeRegistryAuth() sends username and password under Docker's JSON keys", () => {
    assert.deepEqual(decode(encodeRegistryAuth({ username: "u", password: "p" })), { username: "u", password: "p" });
  });
  await t.step("encodeRegistryAuth() sends an identity token as identitytoken", () => {
    assert.deepEqual(decode(encodeRegistryAuth({ identityToken: "idt" })), { identitytoken: "idt" });
  });
  await t.step("encodeRegistryAuth() pads its base64 (Go rejects unpadded input with unexpected EOF)", () => {
    for (let n = 0; n < 6; n++) {
      const header = encodeRegistryAuth({ username: "u".repeat(n + 1), password: "p?>~".repeat(n) });
      assert.equal(header.length % 4, 0);
      assert.deepEqual(decode(header), { username: "u".repeat(n + 1), ...(n ? { password: "p?>~".repeat(n) } : {}) });
    }
  });
});
