/**
 * Integration: `deno bundle` produces one JS file that runs as the whole runtime with no node_modules and no
 * files next to it (what an edge node gets when `deno compile` cannot download its base binary).
 */
import assert from "node:assert/strict";
import { startCriServer } from "./harness/cri_server.ts";
import { startPodmanService } from "./harness/podman_service.ts";
import { freePort, makeTempDir } from "./harness/temp.ts";

const MOD_TS = new URL("../mod.ts", import.meta.url).pathname;
const DENO_JSON = new URL("../deno.json", import.meta.url).pathname;

Deno.test("the deno bundle output serves CRI from an empty folder", async (t) => {
  await using dir = await makeTempDir("bundle");
  const bundle = `${dir.path}/cri-podman.js`;
  const built = await new Deno.Command(Deno.execPath(), {
    args: ["bundle", "--minify", "--config", DENO_JSON, "--output", bundle, MOD_TS],
    stdin: "null",
  }).output();
  assert.equal(built.code, 0, new TextDecoder().decode(built.stderr));
  const entries = [...Deno.readDirSync(dir.path)].map((e) => e.name);
  assert.deepEqual(entries, ["cri-podman.js"], "one file, nothing else");

  await t.step("version runs from the bundle alone", async () => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-all", "--no-config", bundle, "version"],
      cwd: dir.path,
      stdin: "null",
    }).output();
    assert.equal(out.code, 0);
    assert.match(new TextDecoder().decode(out.stdout), /^cri-podman \d/);
  });

  await t.step("serve from the bundle answers CRI calls against real Podman", async () => {
    await using podman = await startPodmanService();
    // With metrics on: prom-client must work inside the bundle too.
    const metrics = `127.0.0.1:${freePort()}`;
    await using cri = await startCriServer({
      podmanSocket: podman.socketPath,
      entry: bundle,
      env: { CRI_PODMAN_METRICS_ADDRESS: metrics },
    });
    assert.equal((await cri.client.runtime.version({})).runtimeName, "cri-podman");
    await cri.client.image.listImages({});
    const scraped = await (await fetch(`http://${metrics}/metrics`)).text();
    assert.match(scraped, /^cri_podman_grpc_requests_total\{method="Version",code="OK"\} [1-9][0-9]*$/m); // the harness asks Version until it answers
    assert.equal(await cri.stop(), 0);
  });
});
