/**
 * Integration: cri-podman's own metrics, scraped from the real process after real traffic against rootless Podman
 * and a local registry: the gRPC, Podman, List cache and pull counters move, and the pull is logged start to end.
 */
import assert from "node:assert/strict";
import { startCriServer } from "./harness/cri_server.ts";
import { startPodmanService } from "./harness/podman_service.ts";
import { sampleValue } from "./harness/prometheus_text.ts";
import { pushLayerImage, startRegistry } from "./harness/registry.ts";
import { freePort, makeTempDir, uniqueName, waitFor } from "./harness/temp.ts";

/** A tar of one file of `bytes` random bytes: a layer that does not compress. */
async function randomLayer(bytes: number): Promise<Uint8Array> {
  await using dir = await makeTempDir("layer");
  const data = new Uint8Array(bytes);
  for (let i = 0; i < bytes; i += 65_536) crypto.getRandomValues(data.subarray(i, Math.min(bytes, i + 65_536)));
  await Deno.writeFile(`${dir.path}/blob`, data);
  const tar = await new Deno.Command("tar", { args: ["-C", dir.path, "-cf", "-", "blob"], stdout: "piped" }).output();
  assert.equal(tar.code, 0);
  return tar.stdout;
}

Deno.test("GET /metrics shows the counters moving after CRI traffic on rootless Podman", async (t) => {
  await using podman = await startPodmanService();
  await using registry = await startRegistry();
  const repo = `cri-podman-test/${uniqueName("metrics")}`;
  const layer = await randomLayer(160 << 20);
  await pushLayerImage(registry, repo, "v1", layer, { Cmd: ["/blob"] });
  const image = `${registry.address}/${repo}:v1`;
  const address = `127.0.0.1:${freePort()}`;
  await using cri = await startCriServer({
    podmanSocket: podman.socketPath,
    env: { CRI_PODMAN_METRICS_ADDRESS: address },
  });
  const url = `http://${address}/metrics`;
  const scrape = async () => {
    const res = await fetch(url);
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
    return await res.text();
  };
  let imageRef = "";
  try {
    await t.step("the server logs where it serves metrics, and a wrong path is 404", async () => {
      assert.match(cri.log(), new RegExp(`serving metrics url="http://${address}/metrics"`));
      const res = await fetch(`http://${address}/`);
      assert.equal(res.status, 404);
      await res.body?.cancel();
    });

    await t.step("gRPC calls are counted by method and code", async () => {
      const before = await scrape();
      const versions = sampleValue(before, "cri_podman_grpc_requests_total", { method: "Version", code: "OK" }) ?? 0;
      await cri.client.runtime.version({});
      await cri.client.runtime.version({});
      await assert.rejects(cri.client.runtime.containerStatus({ containerId: "no-such-container" }));
      await cri.client.image.imageStatus({ image: { image: `${registry.address}/${repo}:absent` } });
      const after = await scrape();
      assert.equal(
        sampleValue(after, "cri_podman_grpc_requests_total", { method: "Version", code: "OK" }),
        versions + 2,
      );
      assert.equal(
        sampleValue(after, "cri_podman_grpc_requests_total", { method: "ContainerStatus", code: "NotFound" }),
        1,
      );
      assert.ok(
        sampleValue(after, "cri_podman_grpc_request_duration_seconds_count", { method: "Version", code: "OK" })! >=
          versions + 2,
      );
    });

    await t.step("List calls read the cache once the event stream is synced", async () => {
      await waitFor(async () => {
        await cri.client.runtime.listContainers({});
        return (sampleValue(await scrape(), "cri_podman_list_cache_requests_total", {
          list: "containers",
          result: "hit",
        }) ?? 0) > 0;
      }, { timeoutMs: 10_000, what: "a List cache hit" });
      await cri.client.runtime.listPodSandbox({});
      const text = await scrape();
      assert.ok(sampleValue(text, "cri_podman_list_cache_requests_total", { list: "sandboxes", result: "hit" })! >= 1);
    });

    await t.step("a pull from the local registry: Podman requests, pull log start to end", async () => {
      // Scrape while the pull runs: the bytes-so-far gauge must move (Podman's blobs, read every 250 ms).
      let pulling = true;
      let maxBytes = 0;
      let maxInFlight = 0;
      const watching = (async () => {
        while (pulling) {
          const text = await scrape();
          maxBytes = Math.max(maxBytes, sampleValue(text, "cri_podman_image_pull_bytes") ?? 0);
          maxInFlight = Math.max(maxInFlight, sampleValue(text, "cri_podman_image_pulls_in_flight") ?? 0);
          await new Promise((r) => setTimeout(r, 20));
        }
      })();
      const res = await cri.client.image.pullImage({ image: { image } }).finally(() => pulling = false);
      await watching;
      imageRef = res.imageRef;
      console.log(`while pulling: in flight ${maxInFlight}, bytes so far up to ${maxBytes}`);
      assert.equal(maxInFlight, 1);
      // At most the layer and the small config blob.
      assert.ok(maxBytes > 0 && maxBytes <= layer.length + 4096, `bytes so far ${maxBytes} of ${layer.length}`);
      const text = await scrape();
      assert.equal(sampleValue(text, "cri_podman_grpc_requests_total", { method: "PullImage", code: "OK" }), 1);
      assert.ok(
        sampleValue(text, "cri_podman_podman_request_duration_seconds_count", { endpoint: "images/pull" })! >= 1,
      );
      assert.ok(sampleValue(text, "cri_podman_podman_request_duration_seconds_count", { endpoint: "_ping" })! >= 1);
      assert.ok(
        sampleValue(text, "cri_podman_podman_request_errors_total", {
          endpoint: "images/{id}/json",
          reason: "not-found",
        })! >= 1,
        "ImageStatus of an absent image asked Podman, which said not found",
      );
      assert.equal(sampleValue(text, "cri_podman_image_pulls_in_flight"), 0);
      assert.equal(sampleValue(text, "cri_podman_image_pull_bytes"), 0);
      assert.ok(sampleValue(text, "process_resident_memory_bytes")! > 0);
      const log = cri.log();
      assert.match(log, new RegExp(`INFO  pulling image image="${image}"`));
      const end = new RegExp(
        `INFO  pulled image image="${image}" id="${imageRef}" size=(\\d+)(?: bytes=(\\d+))? seconds=\\d`,
      )
        .exec(log);
      assert.ok(end, log.split("\n").filter((l) => l.includes("pull")).join("\n"));
      assert.ok(Number(end[1]) >= 160 << 20, `size ${end[1]}`);
      console.log(`pull: ${end[0]}`);
    });
  } finally {
    if (imageRef) await cri.client.image.removeImage({ image: { image: imageRef } }).catch(() => {});
  }

  await t.step("the metrics port closes with the server", async () => {
    assert.equal(await cri.stop(), 0);
    await assert.rejects(fetch(url));
  });
});
