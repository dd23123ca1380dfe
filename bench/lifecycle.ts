/**
 * Lifecycle benchmark (issue 11): a pod and a container from scratch, as kubelet and `critest -benchmark` drive them
 * (RunPodSandbox → CreateContainer → StartContainer → StopContainer → RemoveContainer → StopPodSandbox →
 * RemovePodSandbox), next to the same work as direct libpod requests, interleaved round by round. Each cri-podman
 * RPC is then broken down from the server's debug log (its trace: libpod requests and host work with their ms),
 * so the table says where the time goes.
 * Run as the unprivileged user: `deno run -A bench/lifecycle.ts [rounds=30]`.
 */
import { libpodCaller } from "./_libpod.ts";
import { BUSYBOX_IMAGE, ensureBusyboxImage } from "../tests/harness/busybox_image.ts";
import { startCriServer } from "../tests/harness/cri_server.ts";
import { startPodmanService } from "../tests/harness/podman_service.ts";
import { makeTempDir } from "../tests/harness/temp.ts";
import { breakdown, lifecycleRounds } from "./_lifecycle.ts";
import { table } from "./_stats.ts";

const rounds = Number(Deno.args[0] ?? 30);
await ensureBusyboxImage();
await using podman = await startPodmanService();
await using cri = await startCriServer({
  podmanSocket: podman.socketPath,
  args: ["--log-level", "debug"],
  env: { CRI_PODMAN_LOG_FORMAT: "json" },
});
await using logs = await makeTempDir("bench-lifecycle");
const libpod = libpodCaller(podman.socketPath);
const results = await lifecycleRounds({ cri, libpod, logs: logs.path, image: BUSYBOX_IMAGE, rounds });
await libpod.close();

console.log(`\n${rounds} interleaved rounds of a pod + container from scratch, each way\n`);
console.log(table(results));
console.log(`\nWhere each cri-podman RPC spends its time (p50 of each part over ${rounds} calls)\n`);
console.log(breakdown(cri.log()));
