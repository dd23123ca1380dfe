import assert from "node:assert/strict";
import { status } from "@grpc/grpc-js";
import { type InProcessCri, startInProcessCri } from "../../../tests/harness/in_process_cri.ts";
import {
  createContainer,
  hungAndCancelled,
  hungPastDeadline,
  rejectsWith,
  runSandbox,
  stepEachBadImage,
} from "../../../tests/harness/handler_fixtures.ts";

const BUSYBOX = ["docker.io/library/busybox:latest", "docker.io/library/busybox:1.36"];

const stored = (cri: InProcessCri) => [...cri.fake.images_.keys()];

Deno.test("removeImage() removes the image with all its names, whichever name or ID it is given", async (t) => {
  await using cri = await startInProcessCri();
  const cases: Array<[string, (id: string) => string]> = [
    ["a tag", () => "docker.io/library/busybox:1.36"],
    ["a short name", () => "busybox"],
    ["a digest", (id) => cri.fake.images_.get(id)!.RepoDigests![0]!],
    ["an ID", (id) => `sha256:${id}`],
    ["a bare ID", (id) => id],
    ["an ID prefix", (id) => id.slice(0, 12)],
  ];
  for (const [what, name] of cases) {
    await t.step(what, async () => {
      const id = cri.fake.addImage(BUSYBOX);
      const other = cri.fake.addImage(["docker.io/library/alpine:3.19"]);
      await cri.image.removeImage({ image: { image: name(id) } });
      assert.deepEqual(stored(cri), [other], "the image is gone, the other one stays");
      assert.deepEqual(cri.fake.callsOf("images.removeById").at(-1)?.args, [id, BUSYBOX], "with every name");
      assert.deepEqual((await cri.image.listImages({})).images.map((i) => i.id), [`sha256:${other}`]);
      // The next step starts with none stored, as Podman would tell it (with an event).
      await cri.fake.images.removeById(other, []);
      await cri.settle();
    });
  }
});

Deno.test("removeImage() is a no-op for an image that is not stored, and when called twice", async (t) => {
  await using cri = await startInProcessCri();
  await t.step("twice", async () => {
    cri.fake.addImage(BUSYBOX);
    await cri.image.removeImage({ image: { image: "busybox" } });
    await cri.image.removeImage({ image: { image: "busybox" } });
    assert.deepEqual(stored(cri), []);
    assert.equal(cri.fake.callsOf("images.removeById").length, 1, "the second call found nothing to remove");
  });
  for (const image of ["nginx:1.25", "sha256:" + "0".repeat(64), "0123456789abcdef"]) {
    await t.step(`unknown: ${image}`, async () => {
      await cri.image.removeImage({ image: { image } });
    });
  }
});

Deno.test("removeImage() refuses an image a container uses with FAILED_PRECONDITION, and the image keeps every name", async () => {
  await using cri = await startInProcessCri();
  const id = cri.fake.addImage(BUSYBOX);
  const podSandboxId = await runSandbox(cri);
  const containerId = await createContainer(cri, podSandboxId, "app", { image: { image: "busybox:1.36" } });
  await assert.rejects(
    cri.image.removeImage({ image: { image: "busybox:1.36" } }),
    rejectsWith(status.FAILED_PRECONDITION, /containers use it/),
  );
  assert.deepEqual(cri.fake.images_.get(id)?.RepoTags, BUSYBOX);
  const { image } = await cri.image.imageStatus({ image: { image: "busybox:latest" } });
  assert.deepEqual(image?.repoTags, BUSYBOX);

  // Once the container is gone the image can go.
  await cri.runtime.removeContainer({ containerId });
  await cri.image.removeImage({ image: { image: "busybox:1.36" } });
  assert.deepEqual(stored(cri), []);
});

Deno.test("removeImage() refuses an empty or malformed image with INVALID_ARGUMENT naming image.image", async (t) => {
  await using cri = await startInProcessCri();
  await stepEachBadImage(t, (req) => cri.image.removeImage(req));
});

Deno.test("removeImage() passes its deadline to Podman: a hung removal is aborted and answers DEADLINE_EXCEEDED", async () => {
  await using cri = await startInProcessCri();
  const id = cri.fake.addImage(BUSYBOX);
  await hungPastDeadline(
    cri,
    "images.removeById",
    (opts) => cri.image.removeImage({ image: { image: "busybox" } }, opts),
  );
  assert.deepEqual(cri.fake.images_.get(id)?.RepoTags, BUSYBOX);
});

Deno.test("removeImage() passes a client cancel to Podman: a hung removal is aborted and answers CANCELLED", async () => {
  await using cri = await startInProcessCri();
  cri.fake.addImage(BUSYBOX);
  await hungAndCancelled(
    cri,
    "images.removeById",
    (opts) => cri.image.removeImage({ image: { image: "busybox" } }, opts),
  );
});
