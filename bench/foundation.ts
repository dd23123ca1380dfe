/**
 * Foundation benchmark (issue 2): p50/p99 of Version and ListImages through cri-podman over 1,000 calls each,
 * next to direct libpod `_ping` and `images/json` calls in the same run (interleaved), and the server's idle RSS.
 * Run as the unprivileged user: `deno task bench` (starts its own Podman service and cri-podman).
 */
import { Pool } from "undici";
import { startCriServer } from "../tests/harness/cri_server.ts";
import { startPodmanService } from "../tests/harness/podman_service.ts";
import { ensureBusyboxImage } from "../tests/harness/busybox_image.ts";
import { interleaved, rssMiB, table } from "./_stats.ts";

await ensureBusyboxImage();
await using podman = await startPodmanService();
await using cri = await startCriServer({ podmanSocket: podman.socketPath, args: ["--log-level", "info"] });
const libpod = new Pool("http://podman", { socketPath: podman.socketPath, connections: 1 });
const get = async (path: string) => {
  const res = await libpod.request({ method: "GET", path: `/v4.0.0/libpod${path}` });
  await res.body.text();
};
const imageCount = (await cri.client.image.listImages({})).images.length;

await new Promise((resolve) => setTimeout(resolve, 2_000));
const idleRss = rssMiB(cri.pid);
const results = await interleaved({
  "CRI Version (cri-podman)": () => cri.client.runtime.version({}),
  "libpod GET /_ping (direct)": () => get("/_ping"),
  "CRI ListImages (cri-podman)": () => cri.client.image.listImages({}),
  "libpod GET /images/json (direct)": () => get("/images/json"),
}, { rounds: 10, batch: 100, warmup: 50 });
await new Promise((resolve) => setTimeout(resolve, 2_000));
const afterRss = rssMiB(cri.pid);
await libpod.close();

console.log(`\n${imageCount} images in Podman's store; 10 interleaved rounds of 100 calls per operation\n`);
console.log(table(results));
console.log(
  `\ncri-podman RSS: ${idleRss.toFixed(1)} MiB idle after start, ${afterRss.toFixed(1)} MiB idle after the run`,
);
