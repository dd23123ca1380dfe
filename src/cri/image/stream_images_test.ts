import assert from "node:assert/strict";
import { status } from "@grpc/grpc-js";
import type { StreamImagesResponse } from "../../gen/runtime/v1/api_pb.ts";
import { STREAM_BATCH } from "../batches.ts";
import { type InProcessCri, startInProcessCri } from "../../../tests/harness/in_process_cri.ts";
import { hungPastDeadline, rejectsWith, storeBusybox } from "../../../tests/harness/handler_fixtures.ts";

const stream = (cri: InProcessCri, req: Record<string, unknown> = {}, opts = {}) =>
  cri.stream<StreamImagesResponse>("image", "streamImages", req, opts);

Deno.test("streamImages() sends what ListImages answers, each image once, then ends", async () => {
  await using cri = await startInProcessCri();
  storeBusybox(cri);
  cri.fake.addImage(["localhost/podman-pause:4.3.1-1700000000"]);
  await cri.settle(); // stored behind our back: the image events reach the cache
  const messages = await stream(cri);
  assert.equal(messages.length, 1);
  assert.deepEqual(messages.flatMap((m) => m.images), (await cri.image.listImages({})).images);
  assert.deepEqual(messages.flatMap((m) => m.images.filter((i) => i.pinned).map((i) => i.repoTags[0])), [
    "localhost/podman-pause:4.3.1-1700000000",
  ]);
});

Deno.test("streamImages() sends no message when nothing is stored", async () => {
  await using cri = await startInProcessCri();
  assert.deepEqual(await stream(cri), []);
});

Deno.test("streamImages() applies the filter as ListImages does", async () => {
  await using cri = await startInProcessCri();
  const busybox = storeBusybox(cri);
  cri.fake.addImage(["docker.io/library/alpine:3.19"]);
  const only = async (image: string) =>
    (await stream(cri, { filter: { image: { image } } })).flatMap((m) => m.images.map((i) => i.id));
  assert.deepEqual(await only("busybox"), [`sha256:${busybox}`]);
  assert.deepEqual(await only("nginx"), []);
  await assert.rejects(only("Not/A::ref"), rejectsWith(status.INVALID_ARGUMENT, /filter\.image\.image/));
});

Deno.test("streamImages() splits a long answer into batches of STREAM_BATCH", async () => {
  await using cri = await startInProcessCri();
  for (let i = 0; i <= STREAM_BATCH; i++) cri.fake.addImage([`127.0.0.1:5000/app${i}:v1`]);
  await cri.settle();
  const messages = await stream(cri);
  assert.deepEqual(messages.map((m) => m.images.length), [STREAM_BATCH, 1]);
  assert.equal(new Set(messages.flatMap((m) => m.images.map((i) => i.id))).size, STREAM_BATCH + 1);
});

Deno.test("streamImages() passes its deadline to Podman: a hung list is aborted and answers DEADLINE_EXCEEDED", async () => {
  await using cri = await startInProcessCri({ imageCache: false }); // unsynced: the list asks Podman
  await hungPastDeadline(cri, "images.list", (opts) => stream(cri, {}, opts));
});
