/**
 * Integration: `deno bundle` produces one JS file that runs as the whole runtime with no node_modules and no
 * files next to it (what an edge node gets when `deno compile` cannot download its base binary).
 */
import assert from "node:assert/strict";
import { startCriServer } from "./harness/cri_server.ts";
import { startPodmanService } from "./harness/podman_service.ts";
import { freePort, makeTempDir, uniqueName } from "./harness/temp.ts";
import { BUSYBOX_IMAGE, ensureBusyboxImage } from "./harness/busybox_image.ts";
import { ContainerState, PodSandboxState } from "../src/gen/runtime/v1/api_pb.ts";

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
  // Reported in the test log (README, Benchmarks); a ceiling that a stray dependency would break.
  const size = (await Deno.stat(bundle)).size;
  console.log(`deno bundle --minify: ${size} bytes (${(size / 2 ** 20).toFixed(2)} MiB)`);
  assert.ok(size < 4 * 2 ** 20, `the bundle is ${size} bytes`);

  await t.step("version runs from the bundle alone", async () => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-all", "--no-config", bundle, "version"],
      cwd: dir.path,
      stdin: "null",
    }).output();
    assert.equal(out.code, 0);
    assert.match(new TextDecoder().decode(out.stdout), /^cri-podman \d/);
  });

  await t.step(
    "serve from the bundle answers CRI calls against real Podman, through a whole pod lifecycle",
    async () => {
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

      // A whole pod lifecycle through the bundle.
      await ensureBusyboxImage();
      await using logs = await makeTempDir("bundle-logs");
      const rt = cri.client.runtime;
      const name = uniqueName("bundle");
      const config = {
        metadata: { name, namespace: "bundle", uid: `${name}-uid`, attempt: 0 },
        logDirectory: logs.path,
      };
      const { podSandboxId } = await rt.runPodSandbox({ config });
      const { containerId } = await rt.createContainer({
        podSandboxId,
        config: {
          metadata: { name: "c" },
          image: { image: BUSYBOX_IMAGE },
          command: ["/bin/sleep", "60"],
          logPath: "c.log",
        },
        sandboxConfig: config,
      });
      await rt.startContainer({ containerId });
      assert.equal((await rt.containerStatus({ containerId })).status?.state, ContainerState.CONTAINER_RUNNING);
      const { stdout } = await rt.execSync({ containerId, cmd: ["echo", "from the bundle"], timeout: 10n });
      assert.equal(new TextDecoder().decode(stdout).trim(), "from the bundle");
      await rt.stopContainer({ containerId, timeout: 0n });
      await rt.removeContainer({ containerId });
      await rt.stopPodSandbox({ podSandboxId });
      assert.equal((await rt.podSandboxStatus({ podSandboxId })).status?.state, PodSandboxState.SANDBOX_NOTREADY);
      await rt.removePodSandbox({ podSandboxId });
      assert.deepEqual((await rt.listPodSandbox({ filter: { id: podSandboxId } })).items, []);
      assert.equal(await cri.stop(), 0);
    },
  );
});
