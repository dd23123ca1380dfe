import assert from "node:assert/strict";
import { sampleValue } from "../../tests/harness/prometheus_text.ts";
import { silentLogger } from "../observability/log.ts";
import { createPrometheusMetrics } from "../observability/prometheus.ts";
import { endpointClass, PodmanHttp } from "./client.ts";
import { PodmanEventStream } from "./events.ts";

Deno.test("endpointClass() names the endpoint, never the object", () => {
  const cases: Array<[string, string]> = [
    ["/_ping", "_ping"],
    ["/info", "info"],
    ["/containers/json", "containers/json"],
    ["/containers/create", "containers/create"],
    [`/containers/${"a".repeat(64)}/json`, "containers/{id}/json"],
    [`/containers/${"a".repeat(64)}/stop`, "containers/{id}/stop"],
    ["/images/127.0.0.1%3A5000%2Fapp%3Av1/json", "images/{id}/json"],
    ["/images/pull", "images/pull"],
    ["/images/abc", "images/{id}"],
    ["/exec/abc/start", "exec/{id}/start"],
    ["/containers/abc/attach?stream=true&stdin=true", "containers/{id}/attach"],
    ["/events?stream=true", "events"],
    ["/networks/cri-podman/exists", "networks/{id}/exists"],
  ];
  for (const [path, expected] of cases) assert.equal(endpointClass(path), expected, path);
});

/** A fake libpod on a unix socket: 200 for _ping, 404 for a container inspect, one short event stream per GET. */
function fakeLibpod(dir: string) {
  const path = `${dir}/podman.sock`;
  let eventConnections = 0;
  const server = Deno.serve({ path, onListen: () => {} }, (req) => {
    const url = new URL(req.url);
    if (url.pathname.endsWith("/_ping")) return new Response("OK");
    if (url.pathname.endsWith("/events")) {
      eventConnections++;
      // The stream ends at once: the client reconnects.
      return new Response("", { headers: { "content-type": "application/json" } });
    }
    return Response.json({ cause: "no such container", message: "no such container", response: 404 }, {
      status: 404,
    });
  });
  return { path, server, connections: () => eventConnections };
}

// undici (PodmanHttp's client) keeps a module-wide 499 ms clock timer for ~1 s past its last connection, and Deno 2.9
// reports a pending timer under either sanitizer: both stay off here, as in tests/podman_events_test.ts.
const UNDICI_CLOCK = { sanitizeOps: false, sanitizeResources: false };

Deno.test("PodmanHttp reports each request's latency, and failures by reason", UNDICI_CLOCK, async (t) => {
  const dir = await Deno.makeTempDir();
  const libpod = fakeLibpod(dir);
  const metrics = createPrometheusMetrics({ processMetrics: false });
  const http = new PodmanHttp(libpod.path, { metrics });
  try {
    await t.step("a request that succeeds is observed, with no error", async () => {
      await http.text("ping", "GET", "/_ping");
      await http.json("ping", "GET", "/_ping");
      const text = await metrics.render();
      const labels = { endpoint: "_ping", method: "GET" };
      assert.equal(sampleValue(text, "cri_podman_podman_request_duration_seconds_count", labels), 2);
      assert.equal(sampleValue(text, "cri_podman_podman_request_errors_total", labels), undefined);
    });

    await t.step("a 404 is observed and counted as not-found", async () => {
      await assert.rejects(http.json("inspect", "GET", "/containers/abc/json"));
      const text = await metrics.render();
      const labels = { endpoint: "containers/{id}/json", method: "GET" };
      assert.equal(sampleValue(text, "cri_podman_podman_request_duration_seconds_count", labels), 1);
      assert.equal(sampleValue(text, "cri_podman_podman_request_errors_total", { ...labels, reason: "not-found" }), 1);
    });

    await t.step("a socket nobody serves is counted as unreachable", async () => {
      const nobody = new PodmanHttp(`${dir}/nobody.sock`, { metrics });
      await assert.rejects(nobody.json("ping", "GET", "/_ping"));
      await nobody.close();
      const text = await metrics.render();
      assert.equal(
        sampleValue(text, "cri_podman_podman_request_errors_total", { endpoint: "_ping", reason: "unreachable" }),
        1,
      );
    });

    await t.step("an event stream that reconnects is counted, the first connection not", async () => {
      const stream = new PodmanEventStream(http, {
        log: silentLogger,
        metrics,
        reconnectDelayMs: 5,
        maxReconnectDelayMs: 5,
      });
      stream.start({ onEvent() {}, onConnected() {} });
      const deadline = Date.now() + 5_000;
      while (libpod.connections() < 4 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
      await stream.stop();
      const connections = libpod.connections();
      assert.ok(connections >= 4, `${connections} connections`);
      const text = await metrics.render();
      assert.equal(sampleValue(text, "cri_podman_podman_event_stream_reconnects_total"), connections - 1);
      assert.ok(sampleValue(text, "cri_podman_podman_request_duration_seconds_count", { endpoint: "events" })! >= 4);
    });
  } finally {
    await http.close();
    await libpod.server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});
