import assert from "node:assert/strict";
import { sampleValue } from "../../tests/harness/prometheus_text.ts";
import { createLogger } from "../observability/log.ts";
import { createPrometheusMetrics } from "../observability/prometheus.ts";
import { watchPull } from "./pull_progress.ts";

Deno.test("watchPull() logs the bytes so far at its interval and feeds the pulls-in-flight metrics", async () => {
  const lines: string[] = [];
  const log = createLogger({ level: "info", format: "text", write: (line) => lines.push(line) });
  const metrics = createPrometheusMetrics({ processMetrics: false });
  let bytes = 0;
  let released = false;
  const watched = watchPull({
    image: "127.0.0.1:5000/app:v1",
    log,
    metrics,
    bytes: { bytes: () => Promise.resolve(bytes += 1_000), release: () => released = true },
    pollMs: 10,
    logEveryMs: 60,
  });
  await new Promise((r) => setTimeout(r, 45));
  let text = await metrics.render();
  assert.equal(sampleValue(text, "cri_podman_image_pulls_in_flight"), 1);
  assert.ok(sampleValue(text, "cri_podman_image_pull_bytes")! >= 1_000, "the gauge follows the reads");
  assert.equal(lines.length, 0, "no progress line before the first interval");
  await new Promise((r) => setTimeout(r, 160));
  const final = await watched.stop();
  assert.equal(await watched.stop(), final, "stop() is idempotent");
  assert.equal(final, bytes, "stop() reads one last time");
  assert.ok(released);
  const progress = lines.filter((l) => l.includes("pulling image: progress"));
  assert.ok(progress.length >= 2, lines.join("\n"));
  assert.match(progress[0]!, /image="127\.0\.0\.1:5000\/app:v1" bytes=[1-9][0-9]*000 seconds=0\.\d/);
  text = await metrics.render();
  assert.equal(sampleValue(text, "cri_podman_image_pulls_in_flight"), 0);
  assert.equal(sampleValue(text, "cri_podman_image_pull_bytes"), 0);
});

Deno.test("watchPull() without a byte source says only how long the pull has run", async () => {
  const lines: string[] = [];
  const log = createLogger({ level: "info", format: "text", write: (line) => lines.push(line) });
  const watched = watchPull({ image: "busybox", log, pollMs: 5, logEveryMs: 20 });
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(await watched.stop(), 0);
  assert.ok(lines.length >= 1);
  assert.doesNotMatch(lines[0]!, /bytes=/);
  assert.match(lines[0]!, /pulling image: progress image="busybox" seconds=/);
});
