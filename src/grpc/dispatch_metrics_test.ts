import assert from "node:assert/strict";
import { startInProcessCri } from "../../tests/harness/in_process_cri.ts";
import { sampleValue } from "../../tests/harness/prometheus_text.ts";
import { CriError } from "../errors.ts";
import { createPrometheusMetrics } from "../observability/prometheus.ts";
import { dispatchServerStreaming, dispatchUnary } from "./dispatch.ts";

const control = { cancelled: new AbortController().signal, deadlineMs: undefined };

Deno.test("the dispatch edge counts each call by method and code, with its latency", async (t) => {
  await using cri = await startInProcessCri();
  const metrics = createPrometheusMetrics({ processMetrics: false });
  const deps = { ...cri.deps, metrics };

  await t.step("a unary call that succeeds counts under OK", async () => {
    const handler = async () => {
      await new Promise((r) => setTimeout(r, 20));
      return {};
    };
    await dispatchUnary({ rpc: "Version", handler }, {}, control, { deps });
    await dispatchUnary({ rpc: "Version", handler }, {}, control, { deps });
    const text = await metrics.render();
    assert.equal(sampleValue(text, "cri_podman_grpc_requests_total", { method: "Version", code: "OK" }), 2);
    const fast = sampleValue(text, "cri_podman_grpc_request_duration_seconds_bucket", {
      method: "Version",
      code: "OK",
      le: "0.01",
    });
    assert.equal(fast, 0, "each took ≥ 20 ms");
    const sum = sampleValue(text, "cri_podman_grpc_request_duration_seconds_sum", { method: "Version", code: "OK" })!;
    assert.ok(sum >= 0.04 && sum < 5, String(sum));
  });

  await t.step("a failed call counts under its error's code", async () => {
    const handler = () => Promise.reject(new CriError("NotFound", "no such container"));
    const outcome = await dispatchUnary({ rpc: "ContainerStatus", handler }, {}, control, { deps });
    assert.ok("failure" in outcome);
    const crash = () => Promise.reject(new Error("boom"));
    await dispatchUnary({ rpc: "ContainerStatus", handler: crash }, {}, control, { deps });
    const text = await metrics.render();
    assert.equal(
      sampleValue(text, "cri_podman_grpc_requests_total", { method: "ContainerStatus", code: "NotFound" }),
      1,
    );
    assert.equal(
      sampleValue(text, "cri_podman_grpc_requests_total", { method: "ContainerStatus", code: "Unknown" }),
      1,
    );
  });

  await t.step("a server-streaming call counts once, when it ends", async () => {
    async function* handler() {
      yield {};
      yield {};
    }
    const written: unknown[] = [];
    await dispatchServerStreaming({ rpc: "StreamImages", handler }, {}, control, (m) => {
      written.push(m);
      return Promise.resolve();
    }, { deps });
    async function* failing(): AsyncGenerator<unknown> {
      yield* [];
      throw new CriError("Unavailable", "gone");
    }
    await dispatchServerStreaming({ rpc: "StreamImages", handler: failing }, {}, control, () => Promise.resolve(), {
      deps,
    });
    const text = await metrics.render();
    assert.equal(written.length, 2);
    assert.equal(sampleValue(text, "cri_podman_grpc_requests_total", { method: "StreamImages", code: "OK" }), 1);
    assert.equal(
      sampleValue(text, "cri_podman_grpc_requests_total", { method: "StreamImages", code: "Unavailable" }),
      1,
    );
  });
});
