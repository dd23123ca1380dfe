/**
 * Leak check over many pod lifecycles (issue 7): cri-podman with its embedded Podman runs N times RunPodSandbox →
 * CreateContainer → StartContainer → StopPodSandbox → RemovePodSandbox, and counts every so often what a long-lived
 * node would accumulate: zombie children of the Podman service, processes of this user that are neither ours nor
 * Podman's known containers' (orphaned conmon / runc init), and the server's RSS.
 * Run as the unprivileged user: `deno run -A bench/lifecycles.ts [lifecycles=1000] [every=100]`.
 */
import { NamespaceMode } from "../src/gen/runtime/v1/api_pb.ts";
import { readProcessTable, zombieChildren } from "../src/host/processes.ts";
import { ensureBusyboxImage } from "../tests/harness/busybox_image.ts";
import { startCriServer } from "../tests/harness/cri_server.ts";
import { makeTempDir, uniqueName } from "../tests/harness/temp.ts";
import { rssMiB } from "./_stats.ts";

const lifecycles = Number(Deno.args[0] ?? 1000);
const every = Number(Deno.args[1] ?? 100);
const image = await ensureBusyboxImage();
await using dir = await makeTempDir("bench-lifecycles");
const podmanSocket = `${dir.path}/podman.sock`;
// BENCH_V8_FLAGS (e.g. --max-old-space-size=256) replaces the V8 flags cri-podman ships with, to compare them.
const v8Flags = Deno.env.get("BENCH_V8_FLAGS");
await using cri = await startCriServer({
  podmanSocket,
  embeddedPodman: true,
  args: ["--log-level", "warn"],
  ...(v8Flags ? { v8Flags } : {}),
});
const rt = cri.client.runtime;

/** The embedded service's pid, from the pid file cri-podman keeps next to its socket. */
async function servicePid(): Promise<number> {
  return JSON.parse(await Deno.readTextFile(`${podmanSocket}.cri-podman.pid`)).pid;
}

/** Processes of ours by command name (conmon, slirp4netns, runc, rootlessport, …), counted. */
function processCensus(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const [pid] of readProcessTable({ zombies: true })) {
    try {
      const st = Deno.statSync(`/proc/${pid}`);
      if (st.uid !== Deno.uid()) continue;
      const comm = Deno.readTextFileSync(`/proc/${pid}/comm`).trim();
      counts[comm] = (counts[comm] ?? 0) + 1;
    } catch {
      // gone
    }
  }
  return counts;
}

const report = async (done: number, ms: number) => {
  const pid = await servicePid();
  const census = processCensus();
  const row =
    `| ${done} | ${zombieChildren(pid).length} | ${census["conmon"] ?? 0} | ${census["slirp4netns"] ?? 0} | ` +
    `${census["rootlessport"] ?? 0} | ${rssMiB(cri.pid).toFixed(0)} | ${(ms / Math.max(1, every)).toFixed(0)} |`;
  console.log(row);
};

console.log(
  "| lifecycles | zombies under Podman | conmon | slirp4netns | rootlessport | server RSS MiB | ms per lifecycle |",
);
console.log("|---:|---:|---:|---:|---:|---:|---:|");
await report(0, 0);
let t0 = performance.now();
for (let i = 1; i <= lifecycles; i++) {
  const name = uniqueName("life");
  const { podSandboxId } = await rt.runPodSandbox({
    config: {
      metadata: { name, namespace: "bench", uid: `${name}-uid`, attempt: 0 },
      hostname: "life",
      logDirectory: `${dir.path}/logs/${name}`,
      linux: { securityContext: { namespaceOptions: { network: NamespaceMode.POD, pid: NamespaceMode.CONTAINER } } },
    },
  });
  const sandboxConfig = {
    metadata: { name, namespace: "bench", uid: `${name}-uid`, attempt: 0 },
    logDirectory: `${dir.path}/logs/${name}`,
  };
  const { containerId } = await rt.createContainer({
    podSandboxId,
    config: { metadata: { name: "c" }, image: { image }, command: ["sleep", "3600"], logPath: "c.log" },
    sandboxConfig,
  });
  await rt.startContainer({ containerId });
  await rt.stopPodSandbox({ podSandboxId });
  await rt.removePodSandbox({ podSandboxId });
  if (i % every === 0) {
    await report(i, performance.now() - t0);
    t0 = performance.now();
  }
}
