import assert from "node:assert/strict";
import { status } from "@grpc/grpc-js";
import { type InProcessCri, startInProcessCri } from "../../../tests/harness/in_process_cri.ts";
import { hungPastDeadline, rejectsWith } from "../../../tests/harness/handler_fixtures.ts";

const PAUSE = "registry.k8s.io/pause:3.9";

/** busybox (two tags), an app image, the configured pause image and Podman's own pause image; their events read. */
async function images(cri: InProcessCri) {
  const ids = {
    busybox: cri.fake.addImage(["docker.io/library/busybox:latest", "docker.io/library/busybox:1.36"], {
      User: "1000",
    }),
    app: cri.fake.addImage(["127.0.0.1:5000/app:v1"]),
    pause: cri.fake.addImage([PAUSE]),
    podmanPause: cri.fake.addImage(["localhost/podman-pause:4.3.1-1700000000"]),
  };
  await cri.settle(); // stored behind our back: the image events reach the cache
  return ids;
}

Deno.test("listImages() lists every stored image with its ID, tags, digests and size", async () => {
  await using cri = await startInProcessCri();
  const ids = await images(cri);
  const calls = cri.fake.calls.length;
  const { images: listed } = await cri.image.listImages({});
  assert.deepEqual(listed.map((i) => i.id).sort(), Object.values(ids).map((id) => `sha256:${id}`).sort());
  const busybox = listed.find((i) => i.id === `sha256:${ids.busybox}`)!;
  assert.deepEqual(busybox.repoTags, ["docker.io/library/busybox:latest", "docker.io/library/busybox:1.36"]);
  assert.deepEqual(busybox.repoDigests, cri.fake.images_.get(ids.busybox)!.RepoDigests);
  assert.equal(busybox.size, 1_000_000n);
  assert.equal(busybox.spec?.image, `sha256:${ids.busybox}`);
  assert.equal(busybox.uid?.value, 1000n, "the image's user, from its inspect");
  assert.deepEqual(cri.fake.calls.slice(calls).map((c) => c.op), [], "answered from the image cache");
});

Deno.test("listImages() answers an empty list when nothing is stored", async () => {
  await using cri = await startInProcessCri();
  assert.deepEqual((await cri.image.listImages({})).images, []);
});

Deno.test("listImages() pins the infra image, so kubelet's image GC keeps it", async (t) => {
  await t.step("the configured pods.infra_image", async () => {
    await using cri = await startInProcessCri({ configToml: `[pods]\ninfra_image = "${PAUSE}"` });
    const ids = await images(cri);
    const { images: listed } = await cri.image.listImages({});
    assert.deepEqual(listed.filter((i) => i.pinned).map((i) => i.id), [`sha256:${ids.pause}`]);
  });
  await t.step("Podman's own pause image when none is configured", async () => {
    await using cri = await startInProcessCri();
    const ids = await images(cri);
    const { images: listed } = await cri.image.listImages({});
    assert.deepEqual(listed.filter((i) => i.pinned).map((i) => i.id), [`sha256:${ids.podmanPause}`]);
  });
  await t.step("also when the filter names it", async () => {
    await using cri = await startInProcessCri({ configToml: `[pods]\ninfra_image = "${PAUSE}"` });
    await images(cri);
    const { images: listed } = await cri.image.listImages({ filter: { image: { image: PAUSE } } });
    assert.deepEqual(listed.map((i) => i.pinned), [true]);
  });
});

Deno.test("listImages() with a filter answers only the image it names, by reference or ID", async (t) => {
  await using cri = await startInProcessCri();
  const ids = await images(cri);
  const digest = cri.fake.images_.get(ids.app)!.RepoDigests![0]!;
  const cases: Array<[string, string, string[]]> = [
    ["a short name", "busybox", [ids.busybox]],
    ["a short name with a tag", "busybox:1.36", [ids.busybox]],
    ["a full reference", "127.0.0.1:5000/app:v1", [ids.app]],
    ["a digest", digest, [ids.app]],
    ["an ID", `sha256:${ids.app}`, [ids.app]],
    ["a bare ID prefix", ids.busybox.slice(0, 12), [ids.busybox]],
    ["an image not stored", "nginx:1.25", []],
  ];
  for (const [what, image, expected] of cases) {
    await t.step(what, async () => {
      const { images: listed } = await cri.image.listImages({ filter: { image: { image } } });
      assert.deepEqual(listed.map((i) => i.id), expected.map((id) => `sha256:${id}`));
    });
  }
  await t.step("an inspected image carries its user", async () => {
    const { images: listed } = await cri.image.listImages({ filter: { image: { image: "busybox" } } });
    assert.equal(listed[0]?.uid?.value, 1000n);
  });
  assert.equal(cri.fake.callsOf("images.list").length, 1, "the image cache's one full read at start, no more");
});

Deno.test("listImages() refuses a malformed filter with INVALID_ARGUMENT naming filter.image.image", async () => {
  await using cri = await startInProcessCri();
  await assert.rejects(
    cri.image.listImages({ filter: { image: { image: "UPPER/Case::x" } } }),
    rejectsWith(status.INVALID_ARGUMENT, /filter\.image\.image/),
  );
});

Deno.test("listImages() passes its deadline to Podman: a hung list is aborted and answers DEADLINE_EXCEEDED", async () => {
  await using cri = await startInProcessCri({ imageCache: false }); // unsynced: the list asks Podman
  await hungPastDeadline(cri, "images.list", (opts) => cri.image.listImages({}, opts));
});
