import assert from "node:assert/strict";
import { FakePodman } from "../../tests/fake_podman.ts";
import { sampleValue } from "../../tests/harness/prometheus_text.ts";
import { silentLogger } from "../observability/log.ts";
import { createPrometheusMetrics } from "../observability/prometheus.ts";
import { RuntimeCache } from "./runtime_cache.ts";

Deno.test("RuntimeCache counts List reads from memory as hits, from Podman as misses", async () => {
  const fake = new FakePodman();
  const metrics = createPrometheusMetrics({ processMetrics: false });
  const cache = new RuntimeCache(fake, silentLogger, metrics);
  const count = async (list: string, result: string) =>
    sampleValue(await metrics.render(), "cri_podman_list_cache_requests_total", { list, result });

  await cache.containers(); // not synced yet: straight from Podman
  await cache.sandboxes();
  assert.equal(await count("containers", "miss"), 1);
  assert.equal(await count("sandboxes", "miss"), 1);
  assert.equal(await count("containers", "hit"), 0);
  const lists = fake.calls.length;

  await cache.resync();
  const afterResync = fake.calls.length;
  await cache.containers();
  await cache.containers();
  await cache.sandboxes();
  assert.equal(fake.calls.length, afterResync, "hits ask Podman nothing");
  assert.ok(afterResync > lists);
  assert.equal(await count("containers", "hit"), 2);
  assert.equal(await count("sandboxes", "hit"), 1);

  cache.markUnsynced(); // the event stream broke
  await cache.sandboxes();
  assert.equal(await count("sandboxes", "miss"), 2);
});
