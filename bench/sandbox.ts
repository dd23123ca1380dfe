/**
 * Sandbox benchmark (issue 3): p50/p99 of RunPodSandbox, StopPodSandbox and RemovePodSandbox through cri-podman
 * next to the same work done with direct libpod calls (interleaved, same run), and ListPodSandbox with 50 pods
 * present next to a direct `GET /libpod/pods/json` with the same label filter.
 * Run as the unprivileged user: `deno run -A bench/sandbox.ts [rounds]`.
 */
import { libpodCaller } from "./_libpod.ts";
import { NamespaceMode } from "../src/gen/runtime/v1/api_pb.ts";
import { SANDBOX_FILTER } from "../src/translate/labels.ts";
import { startCriServer } from "../tests/harness/cri_server.ts";
import { startPodmanService } from "../tests/harness/podman_service.ts";
import { makeTempDir, uniqueName } from "../tests/harness/temp.ts";
import { interleaved, summarize, type Summary, table } from "./_stats.ts";

const rounds = Number(Deno.args[0] ?? 20);
await using podman = await startPodmanService();
await using cri = await startCriServer({ podmanSocket: podman.socketPath, args: ["--log-level", "warn"] });
await using logs = await makeTempDir("bench-logs");
const libpod = libpodCaller(podman.socketPath);
const call = libpod.call;
const config = (name: string) => ({
  metadata: { name, namespace: "bench", uid: `${name}-uid`, attempt: 0 },
  hostname: name.slice(0, 60),
  logDirectory: `${logs.path}/${name}`,
  labels: { bench: "yes" },
  linux: { securityContext: { namespaceOptions: { network: NamespaceMode.POD, pid: NamespaceMode.CONTAINER } } },
});
const rt = cri.client.runtime;
// The network exists before timing starts: both sides then pay the same per-pod costs.
await rt.removePodSandbox({
  podSandboxId: (await rt.runPodSandbox({ config: config(uniqueName("warm")) })).podSandboxId,
});

const samples: Record<string, number[]> = {
  "RunPodSandbox (cri-podman)": [],
  "libpod pods/create + start (direct)": [],
  "StopPodSandbox (cri-podman)": [],
  "libpod pods/{id}/kill + stop (direct)": [],
  "RemovePodSandbox (cri-podman)": [],
  "libpod DELETE pods/{id}?force&timeout=0 (direct)": [],
};
const time = async (key: string, fn: () => Promise<unknown>) => {
  const t0 = performance.now();
  const out = await fn();
  samples[key]!.push(performance.now() - t0);
  return out;
};
for (let i = 0; i < rounds; i++) {
  const id = (await time("RunPodSandbox (cri-podman)", () => rt.runPodSandbox({ config: config(uniqueName("b")) })) as {
    podSandboxId: string;
  }).podSandboxId;
  await time("StopPodSandbox (cri-podman)", () => rt.stopPodSandbox({ podSandboxId: id }));
  await time("RemovePodSandbox (cri-podman)", () => rt.removePodSandbox({ podSandboxId: id }));

  const name = uniqueName("d");
  const direct = await time("libpod pods/create + start (direct)", async () => {
    const { Id } = await call("POST", "/pods/create", {
      name,
      hostname: name.slice(0, 60),
      labels: { bench: "yes" },
      shared_namespaces: ["net", "uts", "ipc"],
      netns: { nsmode: "bridge" },
      Networks: { [cri.network]: {} },
    });
    await call("POST", `/pods/${Id}/start`);
    return Id;
  }) as string;
  await time("libpod pods/{id}/kill + stop (direct)", async () => {
    await call("POST", `/pods/${direct}/kill?signal=SIGKILL`);
    await call("POST", `/pods/${direct}/stop?t=1`);
  });
  await time(
    "libpod DELETE pods/{id}?force&timeout=0 (direct)",
    () => call("DELETE", `/pods/${direct}?force=true&timeout=0`),
  );
}
const lifecycle: Record<string, Summary> = Object.fromEntries(
  Object.entries(samples).map(([k, v]) => [k, summarize(v)]),
);

const ids: string[] = [];
for (let i = 0; i < 50; i++) {
  ids.push((await rt.runPodSandbox({ config: config(uniqueName("list")) })).podSandboxId);
}
const filter = encodeURIComponent(JSON.stringify({ label: SANDBOX_FILTER }));
const list = await interleaved({
  "ListPodSandbox, 50 pods (cri-podman)": () => rt.listPodSandbox({}),
  "libpod GET pods/json?filters=label, 50 pods (direct)": () => call("GET", `/pods/json?filters=${filter}`),
}, { rounds: 10, batch: 20, warmup: 10 });
for (const id of ids) await rt.removePodSandbox({ podSandboxId: id });
await libpod.close();

console.log(`\n${rounds} interleaved rounds of pod create+start / stop / remove each way\n`);
console.log(table(lifecycle));
console.log(`\nList with 50 sandboxes present: 10 interleaved rounds of 20 calls each way\n`);
console.log(table(list));
