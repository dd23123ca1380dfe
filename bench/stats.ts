/**
 * Stats benchmark (issue 10), one run:
 * 1. ListContainerStats p50/p99 with N running containers (default 50), interleaved with ListContainers (the same
 *    containers from the List cache: the floor a stats call cannot beat) and ListPodSandboxStats.
 * 2. The CPU cri-podman spends on kubelet-like polling for M seconds (default 300): ListContainerStats and
 *    ListPodSandboxStats every 10 s, ListPodSandbox and ListContainers every 1 s — read from /proc before and after,
 *    next to the embedded Podman service's CPU over the same window.
 * Run as the unprivileged user: `deno run -A bench/stats.ts [containers] [pollSeconds]`.
 */
import { NamespaceMode } from "../src/gen/runtime/v1/api_pb.ts";
import { parseProcStat, ProcReader } from "../src/host/proc_stats.ts";
import { BUSYBOX_IMAGE, ensureBusyboxImage } from "../tests/harness/busybox_image.ts";
import { startCriServer } from "../tests/harness/cri_server.ts";
import { startPodmanService } from "../tests/harness/podman_service.ts";
import { makeTempDir, uniqueName } from "../tests/harness/temp.ts";
import { interleaved, rssMiB, table } from "./_stats.ts";

const containers = Number(Deno.args[0] ?? 50);
const pollSeconds = Number(Deno.args[1] ?? 300);
const PER_POD = 10;

const proc = new ProcReader();

/** CPU seconds (user + system, waited-for children included) of a process, parsed as the stats RPCs parse it. */
function cpuSeconds(pid: number): number {
  const stat = parseProcStat(Deno.readTextFileSync(`/proc/${pid}/stat`));
  return Number(stat?.cpuTicks ?? 0n) / 100;
}

/** CPU seconds of a process and all its descendants alive now (one scan of the process table). */
function treeCpuSeconds(root: number): number {
  const { processes } = proc.scan();
  let total = 0;
  for (const p of processes.values()) {
    for (let at: number | undefined = p.pid; at !== undefined && at > 1; at = processes.get(at)?.ppid) {
      if (at === root) {
        total += Number(p.cpuTicks) / 100;
        break;
      }
    }
  }
  return total;
}

await ensureBusyboxImage();
await using podman = await startPodmanService();
await using cri = await startCriServer({ podmanSocket: podman.socketPath, args: ["--log-level", "warn"] });
await using logs = await makeTempDir("bench-logs");
const rt = cri.client.runtime;
const pods: string[] = [];
try {
  for (let i = 0; i < containers; i++) {
    if (i % PER_POD === 0) {
      const name = uniqueName("bstats");
      const config = {
        metadata: { name, namespace: "bench", uid: `${name}-uid`, attempt: 0 },
        logDirectory: `${logs.path}/${name}`,
        linux: { securityContext: { namespaceOptions: { network: NamespaceMode.POD, pid: NamespaceMode.CONTAINER } } },
      };
      pods.push((await rt.runPodSandbox({ config })).podSandboxId);
    }
    const podSandboxId = pods.at(-1)!;
    const { containerId } = await rt.createContainer({
      podSandboxId,
      config: {
        metadata: { name: `c${i}`, attempt: 0 },
        image: { image: BUSYBOX_IMAGE },
        command: ["/bin/sleep", "3600"],
        logPath: `c${i}.log`,
      },
    });
    await rt.startContainer({ containerId });
  }
  const listed = (await rt.listContainerStats({})).stats.length;
  console.log(
    `${listed} containers in ${pods.length} pods; host processes: ${
      [...Deno.readDirSync("/proc")].filter((e) => /^\d+$/.test(e.name)).length
    }`,
  );

  const latency = interleaved({
    [`ListContainerStats (${containers} running)`]: () => rt.listContainerStats({}),
    [`ListPodSandboxStats (${pods.length} pods)`]: () => rt.listPodSandboxStats({}),
    [`ListContainers (${containers}, from the cache)`]: () => rt.listContainers({}),
  }, { rounds: 20, batch: 5, warmup: 3 });
  console.log(table(await latency));

  const criCpu0 = cpuSeconds(cri.pid);
  const podmanCpu0 = treeCpuSeconds(podman.pid);
  const t0 = performance.now();
  let statsCalls = 0;
  let listCalls = 0;
  for (let s = 0; s < pollSeconds; s++) {
    const tick = performance.now();
    if (s % 10 === 0) {
      await Promise.all([rt.listContainerStats({}), rt.listPodSandboxStats({})]);
      statsCalls += 2;
    }
    await Promise.all([rt.listPodSandbox({}), rt.listContainers({})]);
    listCalls += 2;
    await new Promise((r) => setTimeout(r, Math.max(0, 1000 - (performance.now() - tick))));
  }
  const wall = (performance.now() - t0) / 1000;
  const criCpu = cpuSeconds(cri.pid) - criCpu0;
  const podmanCpu = treeCpuSeconds(podman.pid) - podmanCpu0;
  console.log(
    [
      "",
      `kubelet-like polling for ${wall.toFixed(0)} s (${statsCalls} stats calls, ${listCalls} list calls):`,
      `| process | CPU s | % of one core |`,
      `|---|---:|---:|`,
      `| cri-podman | ${criCpu.toFixed(2)} | ${(100 * criCpu / wall).toFixed(2)} |`,
      `| Podman service (and children) | ${podmanCpu.toFixed(2)} | ${(100 * podmanCpu / wall).toFixed(2)} |`,
      "",
      `cri-podman RSS after: ${rssMiB(cri.pid).toFixed(1)} MiB`,
    ].join("\n"),
  );
} finally {
  for (const podSandboxId of pods) {
    await rt.stopPodSandbox({ podSandboxId }).catch(() => {});
    await rt.removePodSandbox({ podSandboxId }).catch(() => {});
  }
}
