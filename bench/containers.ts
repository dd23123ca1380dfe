/**
 * Container benchmark (issue 4): p50/p99 of CreateContainer+StartContainer, StopContainer, RemoveContainer and
 * ExecSync(`true`) through cri-podman next to the same work done with direct libpod calls (interleaved, same run),
 * and ListContainers with 200 containers present next to a direct `GET /libpod/containers/json`.
 * Run as the unprivileged user: `deno run -A bench/containers.ts [rounds] [listed]`.
 */
import { libpodCaller } from "./_libpod.ts";
import { NamespaceMode } from "../src/gen/runtime/v1/api_pb.ts";
import { PodmanExec } from "../src/podman/exec.ts";
import { CONTAINER_FILTER } from "../src/translate/labels.ts";
import { BUSYBOX_IMAGE, ensureBusyboxImage } from "../tests/harness/busybox_image.ts";
import { startCriServer } from "../tests/harness/cri_server.ts";
import { startPodmanService } from "../tests/harness/podman_service.ts";
import { makeTempDir, uniqueName } from "../tests/harness/temp.ts";
import { interleaved, summarize, table } from "./_stats.ts";

const rounds = Number(Deno.args[0] ?? 20);
const listed = Number(Deno.args[1] ?? 200);
await ensureBusyboxImage();
await using podman = await startPodmanService();
await using cri = await startCriServer({ podmanSocket: podman.socketPath, args: ["--log-level", "warn"] });
await using logs = await makeTempDir("bench-logs");
const libpod = libpodCaller(podman.socketPath);
const call = libpod.call;
const rt = cri.client.runtime;
const podName = uniqueName("bench");
const sandboxConfig = {
  metadata: { name: podName, namespace: "bench", uid: `${podName}-uid`, attempt: 0 },
  hostname: "bench",
  logDirectory: `${logs.path}/pod`,
  linux: { securityContext: { namespaceOptions: { network: NamespaceMode.POD, pid: NamespaceMode.CONTAINER } } },
};
const podId = (await rt.runPodSandbox({ config: sandboxConfig })).podSandboxId;
const imageId = (await call("GET", `/images/${encodeURIComponent(BUSYBOX_IMAGE)}/json`)).Id as string;
const config = (name: string) => ({
  metadata: { name, attempt: 0 },
  image: { image: BUSYBOX_IMAGE },
  command: ["/bin/sleep", "600"],
  logPath: `${name}.log`,
});

const samples: Record<string, number[]> = {
  "CreateContainer + StartContainer (cri-podman)": [],
  "libpod containers/create + start (direct)": [],
  "ExecSync true (cri-podman)": [],
  "libpod exec create + start + inspect (direct)": [],
  "StopContainer timeout=0 (cri-podman)": [],
  "libpod containers/stop?timeout=0 (direct)": [],
  "RemoveContainer (cri-podman)": [],
  "libpod DELETE containers?force&timeout=0 (direct)": [],
};
const time = async <T>(key: string, fn: () => Promise<T>): Promise<T> => {
  const t0 = performance.now();
  const out = await fn();
  samples[key]!.push(performance.now() - t0);
  return out;
};
const directExec = new PodmanExec(podman.socketPath);
for (let i = 0; i < rounds; i++) {
  const name = uniqueName("c");
  const id = await time("CreateContainer + StartContainer (cri-podman)", async () => {
    const { containerId } = await rt.createContainer({ podSandboxId: podId, config: config(name), sandboxConfig });
    await rt.startContainer({ containerId });
    return containerId;
  });
  await time("ExecSync true (cri-podman)", () => rt.execSync({ containerId: id, cmd: ["true"], timeout: 10n }));
  await time("StopContainer timeout=0 (cri-podman)", () => rt.stopContainer({ containerId: id, timeout: 0n }));
  await time("RemoveContainer (cri-podman)", () => rt.removeContainer({ containerId: id }));

  const direct = await time("libpod containers/create + start (direct)", async () => {
    const { Id } = await call("POST", "/containers/create", {
      name: uniqueName("d"),
      pod: podId,
      image: imageId,
      entrypoint: ["/bin/sleep", "600"],
      command: [],
      log_configuration: { driver: "k8s-file", path: `${logs.path}/${name}-direct.log` },
    });
    await call("POST", `/containers/${Id}/start`);
    return Id as string;
  });
  await time("libpod exec create + start + inspect (direct)", () => directExec.run(direct, ["true"]));
  await time("libpod containers/stop?timeout=0 (direct)", () => call("POST", `/containers/${direct}/stop?timeout=0`));
  await time(
    "libpod DELETE containers?force&timeout=0 (direct)",
    () => call("DELETE", `/containers/${direct}?force=true&timeout=0`),
  );
}
const lifecycle = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, summarize(v)]));

const ids: string[] = [];
for (let i = 0; i < listed; i++) {
  const { containerId } = await rt.createContainer({
    podSandboxId: podId,
    config: config(uniqueName("l")),
    sandboxConfig,
  });
  await rt.startContainer({ containerId });
  ids.push(containerId);
}
const filter = encodeURIComponent(JSON.stringify({ label: CONTAINER_FILTER }));
const list = await interleaved({
  [`ListContainers, ${listed} containers (cri-podman, cached)`]: () => rt.listContainers({}),
  [`libpod GET containers/json?all&filters=label, ${listed} containers (direct)`]: () =>
    call("GET", `/containers/json?all=true&filters=${filter}`),
}, { rounds: 10, batch: 20, warmup: 10 });
await rt.removePodSandbox({ podSandboxId: podId });
await directExec.close();
await libpod.close();

console.log(`\n${rounds} interleaved rounds of create+start / exec / stop / remove each way\n`);
console.log(table(lifecycle));
console.log(`\nList with ${listed} running containers present: 10 interleaved rounds of 20 calls each way\n`);
console.log(table(list));
