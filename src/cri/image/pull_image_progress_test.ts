import assert from "node:assert/strict";
import { create } from "@bufbuild/protobuf";
import { startInProcessCri } from "../../../tests/harness/in_process_cri.ts";
import { sampleValue } from "../../../tests/harness/prometheus_text.ts";
import { PullImageRequestSchema } from "../../gen/runtime/v1/api_pb.ts";
import { createPrometheusMetrics } from "../../observability/prometheus.ts";
import { pullImage } from "./pull_image.ts";

Deno.test("pullImage() logs the start, and the end with the image's size, the bytes and the duration", async () => {
  await using cri = await startInProcessCri();
  const metrics = createPrometheusMetrics({ processMetrics: false });
  let released = 0;
  const pullBytes = {
    track: () => Promise.resolve({ bytes: () => Promise.resolve(12_345), release: () => void released++ }),
  };
  const ctx = { ...cri.deps, metrics, pullBytes, signal: new AbortController().signal };
  const { imageRef } = await pullImage(ctx, create(PullImageRequestSchema, { image: { image: "busybox" } }));

  const start = cri.logs.findIndex((l) => /INFO {2}pulling image image="docker\.io\/library\/busybox:latest"/.test(l));
  const end = cri.logs.findIndex((l) => l.includes("INFO  pulled image"));
  assert.ok(start >= 0 && end > start, cri.logs.join("\n"));
  const size = [...cri.fake.images_.values()].find((i) => `sha256:${i.Id}` === imageRef)!.Size;
  assert.ok(size > 0);
  assert.match(
    cri.logs[end]!,
    new RegExp(`image="docker\\.io/library/busybox:latest" id="${imageRef}" size=${size} bytes=12345 seconds=\\d`),
  );
  assert.equal(released, 1, "the byte source is released");
  const text = await metrics.render();
  assert.equal(sampleValue(text, "cri_podman_image_pulls_in_flight"), 0, "out of flight once done");
});

Deno.test("pullImage() leaves the in-flight metrics when the pull fails", async () => {
  await using cri = await startInProcessCri();
  const metrics = createPrometheusMetrics({ processMetrics: false });
  cri.fake.failNext("images.pull", "unauthenticated");
  const ctx = { ...cri.deps, metrics, signal: new AbortController().signal };
  await assert.rejects(pullImage(ctx, create(PullImageRequestSchema, { image: { image: "busybox" } })));
  assert.equal(sampleValue(await metrics.render(), "cri_podman_image_pulls_in_flight"), 0);
  assert.ok(!cri.logs.some((l) => l.includes("pulled image")));
});
