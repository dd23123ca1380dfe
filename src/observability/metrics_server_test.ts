import assert from "node:assert/strict";
import { parseSamples, sampleValue } from "../../tests/harness/prometheus_text.ts";
import { startMetricsServer } from "./metrics_server.ts";
import { createPrometheusMetrics } from "./prometheus.ts";

Deno.test("the metrics server answers GET /metrics and nothing else", async (t) => {
  const metrics = createPrometheusMetrics();
  metrics.rpc("Version", "OK", 0.001);
  const server = await startMetricsServer({ hostname: "127.0.0.1", port: 0, source: metrics });
  try {
    assert.match(server.url, /^http:\/\/127\.0\.0\.1:[1-9][0-9]*\/metrics$/);

    await t.step("GET /metrics is text/plain in the Prometheus text format", async () => {
      const res = await fetch(server.url);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get("content-type"), "text/plain; version=0.0.4; charset=utf-8");
      const text = await res.text();
      assert.ok(parseSamples(text).length > 20);
      assert.equal(sampleValue(text, "cri_podman_grpc_requests_total", { method: "Version", code: "OK" }), 1);
      assert.ok(sampleValue(text, "process_resident_memory_bytes")! > 0);
    });

    await t.step("a wrong path is 404", async () => {
      for (const path of ["/", "/metric", "/metrics/", "/debug/pprof"]) {
        const res = await fetch(new URL(path, server.url));
        assert.equal(res.status, 404, path);
        await res.body?.cancel();
      }
    });

    await t.step("another method is 405; HEAD has the headers only", async () => {
      const post = await fetch(server.url, { method: "POST" });
      assert.equal(post.status, 405);
      await post.body?.cancel();
      const head = await fetch(server.url, { method: "HEAD" });
      assert.equal(head.status, 200);
      assert.equal(await head.text(), "");
    });

    await t.step("an address in use rejects", async () => {
      const port = Number(new URL(server.url).port);
      await assert.rejects(
        (async () => await startMetricsServer({ hostname: "127.0.0.1", port, source: metrics }))(),
        /address already in use|AddrInUse/i,
      );
    });
  } finally {
    await server.stop();
  }
  await assert.rejects(fetch(server.url), "stopped: nothing listens any more");
});
