import assert from "node:assert/strict";
import { parseSamples, sampleValue } from "../../tests/harness/prometheus_text.ts";
import { noMetrics } from "./metrics.ts";
import { createPrometheusMetrics } from "./prometheus.ts";

Deno.test("createPrometheusMetrics() renders every metric in the text format", async (t) => {
  await t.step("a fresh registry has every metric, the known label values at 0", async () => {
    const m = createPrometheusMetrics({ processMetrics: false });
    const text = await m.render();
    assert.match(m.contentType, /^text\/plain; version=0\.0\.4/);
    for (
      const [name, type] of [
        ["cri_podman_grpc_requests_total", "counter"],
        ["cri_podman_grpc_request_duration_seconds", "histogram"],
        ["cri_podman_podman_request_duration_seconds", "histogram"],
        ["cri_podman_podman_request_errors_total", "counter"],
        ["cri_podman_list_cache_requests_total", "counter"],
        ["cri_podman_streaming_sessions", "gauge"],
        ["cri_podman_streaming_sessions_total", "counter"],
        ["cri_podman_podman_event_stream_reconnects_total", "counter"],
        ["cri_podman_image_pulls_in_flight", "gauge"],
        ["cri_podman_image_pull_bytes", "gauge"],
      ]
    ) {
      assert.ok(text.includes(`# TYPE ${name} ${type}\n`), `${name} is a ${type}`);
      assert.ok(text.includes(`# HELP ${name} `), `${name} has help`);
    }
    assert.equal(sampleValue(text, "cri_podman_streaming_sessions", { kind: "portforward" }), 0);
    assert.equal(sampleValue(text, "cri_podman_list_cache_requests_total", { list: "containers", result: "miss" }), 0);
    assert.equal(sampleValue(text, "cri_podman_podman_event_stream_reconnects_total"), 0);
    assert.equal(sampleValue(text, "cri_podman_image_pulls_in_flight"), 0);
    parseSamples(text); // every line parses
  });

  await t.step("rpc() counts by method and code and observes the latency", async () => {
    const m = createPrometheusMetrics({ processMetrics: false });
    m.rpc("Version", "OK", 0.0004);
    m.rpc("Version", "OK", 0.002);
    m.rpc("ContainerStatus", "NotFound", 0.3);
    const text = await m.render();
    assert.equal(sampleValue(text, "cri_podman_grpc_requests_total", { method: "Version", code: "OK" }), 2);
    assert.equal(
      sampleValue(text, "cri_podman_grpc_requests_total", { method: "ContainerStatus", code: "NotFound" }),
      1,
    );
    const bucket = (le: string) =>
      sampleValue(text, "cri_podman_grpc_request_duration_seconds_bucket", { method: "Version", code: "OK", le });
    assert.equal(bucket("0.001"), 1);
    assert.equal(bucket("0.0025"), 2);
    assert.equal(bucket("+Inf"), 2);
    const sum = sampleValue(text, "cri_podman_grpc_request_duration_seconds_sum", { method: "Version", code: "OK" })!;
    assert.ok(Math.abs(sum - 0.0024) < 1e-9, String(sum));
  });

  await t.step("podmanRequest() observes every request and counts failures by reason", async () => {
    const m = createPrometheusMetrics({ processMetrics: false });
    m.podmanRequest("containers/{id}/json", "GET", 0.004);
    m.podmanRequest("containers/{id}/json", "GET", 0.003, "not-found");
    const text = await m.render();
    const labels = { endpoint: "containers/{id}/json", method: "GET" };
    assert.equal(sampleValue(text, "cri_podman_podman_request_duration_seconds_count", labels), 2);
    assert.equal(sampleValue(text, "cri_podman_podman_request_errors_total", { ...labels, reason: "not-found" }), 1);
  });

  await t.step("listCache(), streamingSession(), eventStreamReconnect()", async () => {
    const m = createPrometheusMetrics({ processMetrics: false });
    m.listCache("sandboxes", true);
    m.listCache("sandboxes", true);
    m.listCache("containers", false);
    const close = m.streamingSession("exec");
    m.streamingSession("exec");
    m.streamingSession("portforward")();
    close();
    close(); // idempotent
    m.eventStreamReconnect();
    const text = await m.render();
    assert.equal(sampleValue(text, "cri_podman_list_cache_requests_total", { list: "sandboxes", result: "hit" }), 2);
    assert.equal(sampleValue(text, "cri_podman_list_cache_requests_total", { list: "containers", result: "miss" }), 1);
    assert.equal(sampleValue(text, "cri_podman_streaming_sessions", { kind: "exec" }), 1);
    assert.equal(sampleValue(text, "cri_podman_streaming_sessions_total", { kind: "exec" }), 2);
    assert.equal(sampleValue(text, "cri_podman_streaming_sessions", { kind: "portforward" }), 0);
    assert.equal(sampleValue(text, "cri_podman_streaming_sessions_total", { kind: "portforward" }), 1);
    assert.equal(sampleValue(text, "cri_podman_podman_event_stream_reconnects_total"), 1);
  });

  await t.step("pullStarted(): pulls in flight and their bytes so far, gone once done", async () => {
    const m = createPrometheusMetrics({ processMetrics: false });
    const a = m.pullStarted();
    const b = m.pullStarted();
    a.progress(1_000);
    b.progress(500);
    a.progress(3_000);
    let text = await m.render();
    assert.equal(sampleValue(text, "cri_podman_image_pulls_in_flight"), 2);
    assert.equal(sampleValue(text, "cri_podman_image_pull_bytes"), 3_500);
    a.done();
    a.done();
    a.progress(9_999); // too late: ignored
    text = await m.render();
    assert.equal(sampleValue(text, "cri_podman_image_pulls_in_flight"), 1);
    assert.equal(sampleValue(text, "cri_podman_image_pull_bytes"), 500);
  });

  await t.step("process metrics: those true under Deno, none of the stubs", async () => {
    const text = await createPrometheusMetrics().render();
    assert.ok(sampleValue(text, "process_cpu_seconds_total")! > 0);
    assert.ok(sampleValue(text, "process_resident_memory_bytes")! > 1_000_000);
    assert.ok(sampleValue(text, "process_open_fds")! > 0);
    assert.ok(sampleValue(text, "nodejs_heap_size_used_bytes")! > 0);
    for (const stub of ["nodejs_active_handles_total", "nodejs_gc_duration_seconds", "nodejs_version_info"]) {
      assert.ok(!text.includes(`# TYPE ${stub} `), `${stub} left out`);
    }
  });

  await t.step("two registries do not share metrics (no global registry)", async () => {
    const a = createPrometheusMetrics({ processMetrics: false });
    const b = createPrometheusMetrics({ processMetrics: false });
    a.rpc("Version", "OK", 0.001);
    assert.equal(sampleValue(await b.render(), "cri_podman_grpc_requests_total", { method: "Version" }), undefined);
  });
});

Deno.test("noMetrics accepts every report and keeps nothing", () => {
  noMetrics.rpc("Version", "OK", 1);
  noMetrics.podmanRequest("_ping", "GET", 1, "unreachable");
  noMetrics.listCache("containers", true);
  noMetrics.streamingSession("attach")();
  noMetrics.eventStreamReconnect();
  const pull = noMetrics.pullStarted();
  pull.progress(1);
  pull.done();
});
