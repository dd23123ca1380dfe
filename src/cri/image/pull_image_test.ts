import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { status } from "@grpc/grpc-js";
import type { PodmanFailure } from "../../podman/errors.ts";
import { startInProcessCri } from "../../../tests/harness/in_process_cri.ts";
import {
  hungAndCancelled,
  hungPastDeadline,
  rejectsWith,
  stepEachBadImage,
} from "../../../tests/harness/handler_fixtures.ts";

Deno.test("pullImage() pulls the normalised reference and answers the image ID as image_ref", async (t) => {
  await using cri = await startInProcessCri();
  const cases: Array<[string, string]> = [
    ["busybox", "docker.io/library/busybox:latest"],
    ["alpine:3.19", "docker.io/library/alpine:3.19"],
    ["docker.io/bitnami/redis", "docker.io/bitnami/redis:latest"],
    ["quay.io/podman/stable:v4", "quay.io/podman/stable:v4"],
    [`ghcr.io/a/b@sha256:${"c".repeat(64)}`, `ghcr.io/a/b@sha256:${"c".repeat(64)}`],
  ];
  for (const [image, reference] of cases) {
    await t.step(image, async () => {
      const { imageRef } = await cri.image.pullImage({ image: { image } });
      const pull = cri.fake.callsOf("images.pull").at(-1)!;
      assert.equal(pull.args[0], reference);
      assert.equal(pull.args[1], undefined, "no credentials");
      const stored = [...cri.fake.images_.values()].find((i) => i.RepoTags?.includes(reference))!;
      assert.equal(imageRef, `sha256:${stored.Id}`);
      assert.equal((await cri.image.imageStatus({ image: { image: imageRef } })).image?.id, imageRef);
    });
  }
});

const AUTH = Buffer.from("bob:pa:ss").toString("base64");

Deno.test("pullImage() passes the credentials the AuthConfig carries", async (t) => {
  await using cri = await startInProcessCri();
  const credentialsOf = async (auth: Record<string, unknown>) => {
    await cri.image.pullImage({ image: { image: "registry.example.com/private/app:v1" }, auth });
    return cri.fake.callsOf("images.pull").at(-1)!.args[1];
  };
  await t.step("username and password", async () => {
    assert.deepEqual(await credentialsOf({ username: "alice", password: "s3cret" }), {
      username: "alice",
      password: "s3cret",
    });
  });
  await t.step("base64 auth, which wins over username and password", async () => {
    assert.deepEqual(await credentialsOf({ username: "alice", password: "x", auth: AUTH }), {
      username: "bob",
      password: "pa:ss",
    });
  });
  await t.step("an identity token", async () => {
    assert.deepEqual(await credentialsOf({ identityToken: "tok-123", serverAddress: "registry.example.com" }), {
      identityToken: "tok-123",
      serverAddress: "registry.example.com",
    });
  });
  await t.step("an empty AuthConfig is no credentials", async () => {
    assert.equal(await credentialsOf({}), undefined);
  });
  await t.step("no secret reaches a log line", () => {
    const all = cri.logs.join("\n");
    for (const secret of ["s3cret", "pa:ss", AUTH, "tok-123"]) assert.ok(!all.includes(secret), `${secret} was logged`);
  });
});

Deno.test("pullImage() refuses credentials Podman cannot carry with INVALID_ARGUMENT naming the field", async (t) => {
  await using cri = await startInProcessCri();
  const cases: Array<[string, Record<string, unknown>, RegExp]> = [
    ["a registry token", { registryToken: "bearer-xyz" }, /auth\.registry_token/],
    ["a registry token with a password", { username: "a", password: "b", registryToken: "t" }, /auth\.registry_token/],
    ["auth that is not user:password", { auth: Buffer.from("nocolon").toString("base64") }, /auth\.auth/],
  ];
  for (const [what, auth, pattern] of cases) {
    await t.step(what, async () => {
      await assert.rejects(
        cri.image.pullImage({ image: { image: "busybox" }, auth }),
        rejectsWith(status.INVALID_ARGUMENT, pattern),
      );
    });
  }
  assert.equal(cri.fake.callsOf("images.pull").length, 0, "nothing was pulled");
});

Deno.test("pullImage() refuses an empty or malformed image with INVALID_ARGUMENT naming image.image", async (t) => {
  await using cri = await startInProcessCri();
  await stepEachBadImage(t, (req) => cri.image.pullImage(req));
  assert.equal(cri.fake.callsOf("images.pull").length, 0);
});

Deno.test("pullImage() skips TLS verification only for insecure registries", async (t) => {
  await using cri = await startInProcessCri({
    configToml: '[images]\ninsecure_registries = ["registry.internal:5000", "plain.example.com"]',
  });
  const tlsVerifyOf = async (image: string) => {
    await cri.image.pullImage({ image: { image } });
    return cri.fake.callsOf("images.pull").at(-1)!.args[2];
  };
  const cases: Array<[string, boolean | undefined]> = [
    ["registry.internal:5000/app:v1", false],
    ["plain.example.com/app:v1", false],
    ["plain.example.com:8443/app:v1", false], // the host on any port
    ["registry.internal:5001/app:v1", undefined], // another port of a host:port entry
    ["registry.internal/app:v1", undefined],
    ["busybox", undefined],
    ["quay.io/podman/stable", undefined],
  ];
  for (const [image, expected] of cases) {
    await t.step(image, async () => assert.equal(await tlsVerifyOf(image), expected));
  }
});

Deno.test("pullImage() skips TLS verification for the local registries by default", async () => {
  await using cri = await startInProcessCri();
  await cri.image.pullImage({ image: { image: "127.0.0.1:5000/app:v1" } });
  await cri.image.pullImage({ image: { image: "localhost:5000/app:v1" } });
  assert.deepEqual(cri.fake.callsOf("images.pull").map((c) => c.args[2]), [false, false]);
});

Deno.test("pullImage() answers the pull's failure with its gRPC code", async (t) => {
  await using cri = await startInProcessCri();
  const cases: Array<[PodmanFailure, string, status]> = [
    ["unauthenticated", "unauthorized: authentication required", status.UNAUTHENTICATED],
    ["denied", "requested access to the resource is denied", status.PERMISSION_DENIED],
    ["not-found", "manifest unknown", status.NOT_FOUND],
    ["invalid-reference", "invalid reference format", status.INVALID_ARGUMENT],
    ["registry-unreachable", "dial tcp: lookup registry.invalid: no such host", status.UNAVAILABLE],
    ["unreachable", "connect ECONNREFUSED /run/user/1000/podman/podman.sock", status.UNAVAILABLE],
    ["unknown", "writing blob: no space left on device", status.UNKNOWN],
  ];
  for (const [reason, message, code] of cases) {
    await t.step(`${reason} → ${status[code]}`, async () => {
      cri.fake.failNext("images.pull", reason, message);
      await assert.rejects(
        cri.image.pullImage({ image: { image: "busybox" } }),
        rejectsWith(code, new RegExp(message)),
      );
    });
  }
  assert.equal(cri.fake.images_.size, 0, "nothing was stored");
});

Deno.test("pullImage() passes its deadline to Podman: a hung pull is aborted and answers DEADLINE_EXCEEDED", async () => {
  await using cri = await startInProcessCri();
  await hungPastDeadline(cri, "images.pull", (opts) => cri.image.pullImage({ image: { image: "busybox" } }, opts));
});

Deno.test("pullImage() passes a client cancel to Podman: a hung pull is aborted and answers CANCELLED", async () => {
  await using cri = await startInProcessCri();
  await hungAndCancelled(cri, "images.pull", (opts) => cri.image.pullImage({ image: { image: "busybox" } }, opts));
  assert.equal(cri.fake.images_.size, 0);
});
