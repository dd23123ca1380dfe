import assert from "node:assert/strict";
import { startInProcessCri } from "../../../tests/harness/in_process_cri.ts";
import { BUSYBOX, hungPastDeadline, stepEachBadImage, storeBusybox } from "../../../tests/harness/handler_fixtures.ts";

Deno.test("imageStatus() answers an empty response for an image that is not stored, not an error", async (t) => {
  await using cri = await startInProcessCri();
  const names: Array<[string, string]> = [
    ["a tag", "nginx:1.25"],
    ["a digest", `docker.io/library/nginx@sha256:${"a".repeat(64)}`],
    ["an ID", "0123456789abcdef"],
  ];
  for (const [what, image] of names) {
    await t.step(what, async () => {
      const res = await cri.image.imageStatus({ image: { image } });
      assert.equal(res.image, undefined);
      assert.deepEqual(res.info, {});
    });
  }
});

Deno.test("imageStatus() describes a stored image found by short name, reference, digest or ID", async (t) => {
  await using cri = await startInProcessCri();
  const id = storeBusybox(cri, { User: "nobody:nogroup" });
  const digest = cri.fake.images_.get(id)!.RepoDigests![0]!;
  const names: Array<[string, string]> = [
    ["a short name", "busybox"],
    ["a full reference", BUSYBOX],
    ["a digest", digest],
    ["an ID", `sha256:${id}`],
    ["a bare ID prefix", id.slice(0, 12)],
  ];
  for (const [what, image] of names) {
    await t.step(what, async () => {
      const { image: found } = await cri.image.imageStatus({ image: { image } });
      assert.equal(found?.id, `sha256:${id}`);
      assert.deepEqual(found?.repoTags, [BUSYBOX]);
      assert.deepEqual(found?.repoDigests, [digest]);
      assert.equal(found?.size, 1_000_000n);
      assert.equal(found?.username, "nobody");
      assert.equal(found?.uid, undefined);
      assert.equal(found?.pinned, false);
    });
  }
});

Deno.test("imageStatus() prefers an image built with Podman (localhost/) for a short name, as CRI-O does", async () => {
  await using cri = await startInProcessCri();
  cri.fake.addImage(["docker.io/library/app:latest"]);
  const local = cri.fake.addImage(["localhost/app:latest"]);
  assert.equal((await cri.image.imageStatus({ image: { image: "app" } })).image?.id, `sha256:${local}`);
});

Deno.test("imageStatus() with verbose adds the image's config as JSON", async () => {
  await using cri = await startInProcessCri();
  const id = storeBusybox(cri, { User: "1000", Cmd: ["sh"] });
  const res = await cri.image.imageStatus({ image: { image: "busybox" }, verbose: true });
  assert.equal(res.image?.uid?.value, 1000n);
  const info = JSON.parse(res.info["info"]!);
  assert.equal(info.id, id);
  assert.deepEqual(info.imageSpec.config.Cmd, ["sh"]);
  assert.equal(info.imageSpec.config.User, "1000");
  assert.deepEqual((await cri.image.imageStatus({ image: { image: "busybox" } })).info, {}, "only when asked");
});

Deno.test("imageStatus() marks the infra image pinned", async () => {
  await using cri = await startInProcessCri({ configToml: '[pods]\ninfra_image = "registry.k8s.io/pause:3.9"' });
  cri.fake.addImage(["registry.k8s.io/pause:3.9"]);
  const { image } = await cri.image.imageStatus({ image: { image: "registry.k8s.io/pause:3.9" } });
  assert.equal(image?.pinned, true);
});

Deno.test("imageStatus() refuses an empty or malformed image with INVALID_ARGUMENT naming image.image", async (t) => {
  await using cri = await startInProcessCri();
  await stepEachBadImage(t, (req) => cri.image.imageStatus(req));
  assert.equal(cri.fake.callsOf("images.inspect").length, 0);
});

Deno.test("imageStatus() passes its deadline to Podman: a hung inspect is aborted and answers DEADLINE_EXCEEDED", async () => {
  await using cri = await startInProcessCri();
  await hungPastDeadline(cri, "images.inspect", (opts) => cri.image.imageStatus({ image: { image: "busybox" } }, opts));
});

Deno.test("imageStatus() answers from the image cache: no Podman call once the image's event or pull was read", async () => {
  await using cri = await startInProcessCri();
  const id = storeBusybox(cri, { User: "1000" });
  await cri.settle(); // stored behind our back: its event reaches the cache
  const before = cri.fake.calls.length;
  const res = await cri.image.imageStatus({ image: { image: "busybox" } });
  assert.equal(res.image?.id, `sha256:${id}`);
  assert.equal(res.image?.uid?.value, 1000n);
  assert.deepEqual(cri.fake.calls.slice(before).map((c) => c.op), [], "no Podman call");
  // A pull leaves the cache showing the image when it returns (read-your-writes), events held or not.
  cri.fake.holdEvents();
  const pulled = cri.fake.addImage(["docker.io/library/alpine:3.19"]);
  await cri.image.pullImage({ image: { image: "alpine:3.19" } });
  const afterPull = cri.fake.calls.length;
  assert.equal((await cri.image.imageStatus({ image: { image: "alpine:3.19" } })).image?.id, `sha256:${pulled}`);
  assert.deepEqual(cri.fake.calls.slice(afterPull).map((c) => c.op), [], "no Podman call after the pull");
  // verbose still asks Podman for the image's whole config.
  await cri.image.imageStatus({ image: { image: "busybox" }, verbose: true });
  assert.deepEqual(cri.fake.calls.slice(afterPull).map((c) => c.op), ["images.inspect"]);
});
