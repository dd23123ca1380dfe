import assert from "node:assert/strict";
import { type StreamRequest, TokenStore } from "./urls.ts";

const request: StreamRequest = {
  kind: "attach",
  containerId: "c",
  stdinOnce: false,
  tty: false,
  stdin: false,
  stdout: true,
  stderr: true,
};

Deno.test("TokenStore.take() gives a request once, for its kind, before it expires", () => {
  let now = 1_000;
  const store = new TokenStore(60_000, () => now);
  const a = store.issue(request);
  const b = store.issue(request);
  const c = store.issue(request);
  assert.notEqual(a, b);
  assert.match(a, /^[A-Za-z0-9_-]{43}$/, "32 random bytes, base64url");
  assert.deepEqual(store.take(a, "attach"), request);
  assert.equal(store.take(a, "attach"), undefined, "single use");
  assert.equal(store.take(b, "exec"), undefined, "another kind's URL");
  assert.equal(store.take(b, "attach"), undefined, "spent by the wrong-kind attempt too");
  now += 60_000;
  assert.equal(store.take(c, "attach"), undefined, "expired");
  assert.equal(store.take("no-such-token", "attach"), undefined);
  assert.equal(store.size, 0);
});

Deno.test("TokenStore drops expired tokens as it goes", () => {
  let now = 0;
  const store = new TokenStore(10, () => now);
  for (let i = 0; i < 100; i++) store.issue(request);
  assert.equal(store.size, 100);
  now = 10;
  store.issue(request);
  assert.equal(store.size, 1);
});
