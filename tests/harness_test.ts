import assert from "node:assert/strict";
import {
  basicAuth,
  BUSYBOX_IMAGE,
  ensureBusyboxImage,
  imageExists,
  processExists,
  pushImage,
  startPodmanService,
  startRegistry,
  uniqueName,
} from "./harness/mod.ts";

Deno.test("harness starts Podman and an auth registry, pushes busybox and stops everything", async () => {
  const podman = await startPodmanService();
  const registry = await startRegistry({ auth: { username: "tester", password: "s3cret:pass" } });
  try {
    const ping = await podman.request("GET", "/v4.0.0/libpod/_ping");
    assert.equal(ping.status, 200);
    assert.equal(ping.body, "OK");

    const imageId = await ensureBusyboxImage();
    assert.match(imageId, /^[0-9a-f]{64}$/);
    assert.ok(await imageExists(BUSYBOX_IMAGE));
    const inspect = await podman.request("GET", `/v4.0.0/libpod/images/${encodeURIComponent(BUSYBOX_IMAGE)}/json`);
    assert.equal(inspect.status, 200, inspect.body);
    assert.deepEqual(JSON.parse(inspect.body).Config.Cmd, ["/bin/sh"]);

    const repo = uniqueName("harness");
    const digest = await pushImage(BUSYBOX_IMAGE, `${registry.address}/${repo}:v1`, { creds: registry.auth! });
    assert.match(digest, /^sha256:[0-9a-f]{64}$/);

    const authed = await fetch(`${registry.url}/v2/_catalog`, {
      headers: { Authorization: basicAuth(registry.auth!) },
    });
    assert.equal(authed.status, 200);
    assert.deepEqual((await authed.json()).repositories, [repo]);

    const anonymous = await fetch(`${registry.url}/v2/_catalog`);
    await anonymous.body?.cancel();
    assert.equal(anonymous.status, 401);

    const manifest = await fetch(`${registry.url}/v2/${repo}/manifests/v1`, {
      method: "HEAD",
      headers: {
        Authorization: basicAuth(registry.auth!),
        Accept: "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json",
      },
    });
    assert.equal(manifest.headers.get("docker-content-digest"), digest);
  } finally {
    await registry.stop();
    await podman.stop();
  }
  assert.equal(processExists(registry.pid), false, "registry process still runs");
  assert.equal(processExists(podman.pid), false, "podman service still runs");
  await assert.rejects(Deno.stat(podman.socketPath), Deno.errors.NotFound);
});

Deno.test("startPodmanService() restarts on the same socket after stop and after SIGKILL", async () => {
  const podman = await startPodmanService();
  try {
    const first = podman.pid;
    podman.kill("SIGKILL");
    await podman.exited();
    assert.equal(processExists(first), false);
    await podman.restart();
    assert.notEqual(podman.pid, first);
    assert.equal((await podman.request("GET", "/v4.0.0/libpod/_ping")).body, "OK");

    const second = podman.pid;
    await podman.stop();
    assert.equal(processExists(second), false);
    await podman.restart();
    assert.equal((await podman.request("GET", "/v4.0.0/libpod/_ping")).body, "OK");
  } finally {
    await podman.stop();
  }
  assert.equal(processExists(podman.pid), false);
});
