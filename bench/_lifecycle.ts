/**
 * The pod + container lifecycle measured by `bench/lifecycle.ts` and `bench/all.ts`: cri-podman's RPCs next to the
 * direct libpod sequence, and the per-RPC breakdown read back from the server's JSON debug log.
 * @module
 */
import { NamespaceMode } from "../src/gen/runtime/v1/api_pb.ts";
import type { CriServer } from "../tests/harness/cri_server.ts";
import { uniqueName } from "../tests/harness/temp.ts";
import type { libpodCaller } from "./_libpod.ts";
import { summarize, type Summary } from "./_stats.ts";

/** The lifecycle RPCs in kubelet's order. */
export const LIFECYCLE_RPCS = [
  "RunPodSandbox",
  "CreateContainer",
  "StartContainer",
  "StopContainer",
  "RemoveContainer",
  "StopPodSandbox",
  "RemovePodSandbox",
] as const;

/** Runs `rounds` lifecycles each way, interleaved; returns p50/p99 per step and for the whole sequence. */
export async function lifecycleRounds(opts: {
  cri: CriServer;
  libpod: ReturnType<typeof libpodCaller>;
  logs: string;
  image: string;
  rounds: number;
}): Promise<Record<string, Summary>> {
  const { cri, libpod, logs, image } = opts;
  const rt = cri.client.runtime;
  const call = libpod.call;
  const samples: Record<string, number[]> = {};
  const time = async <T>(key: string, fn: () => Promise<T>): Promise<T> => {
    const t0 = performance.now();
    const out = await fn();
    (samples[key] ??= []).push(performance.now() - t0);
    return out;
  };
  const sandboxConfig = (name: string) => ({
    metadata: { name, namespace: "bench", uid: `${name}-uid`, attempt: 0 },
    hostname: name.slice(0, 60),
    logDirectory: `${logs}/${name}`,
    linux: { securityContext: { namespaceOptions: { network: NamespaceMode.POD, pid: NamespaceMode.CONTAINER } } },
  });
  const containerConfig = {
    metadata: { name: "c", attempt: 0 },
    image: { image },
    command: ["/bin/sleep", "600"],
    logPath: "c.log",
  };
  // Warm both ways (the pod network exists, the infra image is resolved), untimed.
  const warm = await rt.runPodSandbox({ config: sandboxConfig(uniqueName("warm")) });
  await rt.removePodSandbox({ podSandboxId: warm.podSandboxId });
  const imageId = (await call("GET", `/images/${encodeURIComponent(image)}/json`)).Id as string;

  for (let i = 0; i < opts.rounds; i++) {
    const name = uniqueName("life");
    const config = sandboxConfig(name);
    await time("pod + container from scratch (cri-podman)", async () => {
      const { podSandboxId } = await time("RunPodSandbox", () => rt.runPodSandbox({ config }));
      const { containerId } = await time(
        "CreateContainer",
        () => rt.createContainer({ podSandboxId, config: containerConfig, sandboxConfig: config }),
      );
      await time("StartContainer", () => rt.startContainer({ containerId }));
      await time("StopContainer", () => rt.stopContainer({ containerId, timeout: 0n }));
      await time("RemoveContainer", () => rt.removeContainer({ containerId }));
      await time("StopPodSandbox", () => rt.stopPodSandbox({ podSandboxId }));
      await time("RemovePodSandbox", () => rt.removePodSandbox({ podSandboxId }));
    });

    const direct = uniqueName("direct");
    await time("pod + container from scratch (direct libpod)", async () => {
      const { Id: pod } = await time("  libpod pods/create + start", async () => {
        const created = await call("POST", "/pods/create", {
          name: direct,
          hostname: direct.slice(0, 60),
          shared_namespaces: ["net", "uts", "ipc"],
          netns: { nsmode: "bridge" },
          Networks: { [cri.network]: {} },
        });
        await call("POST", `/pods/${created.Id}/start`);
        return created;
      });
      const { Id: ctr } = await time("  libpod containers/create", () =>
        call("POST", "/containers/create", {
          name: `${direct}-c`,
          pod,
          image: imageId,
          entrypoint: ["/bin/sleep", "600"],
          command: [],
          log_configuration: { driver: "k8s-file", path: `${logs}/${direct}.log` },
        }));
      await time("  libpod containers/{id}/start", () => call("POST", `/containers/${ctr}/start`));
      await time("  libpod containers/{id}/stop?timeout=0", () => call("POST", `/containers/${ctr}/stop?timeout=0`));
      await time("  libpod DELETE containers/{id}", () => call("DELETE", `/containers/${ctr}?force=true&timeout=0`));
      await time("  libpod pods/{id}/kill + stop", async () => {
        await call("POST", `/pods/${pod}/kill?signal=SIGKILL`);
        await call("POST", `/pods/${pod}/stop?t=1`);
      });
      await time("  libpod DELETE pods/{id}", () => call("DELETE", `/pods/${pod}?force=true&timeout=0`));
    });
  }
  const order = [
    "pod + container from scratch (cri-podman)",
    ...LIFECYCLE_RPCS,
    "pod + container from scratch (direct libpod)",
  ];
  const keys = [...order, ...Object.keys(samples).filter((k) => !order.includes(k))];
  return Object.fromEntries(keys.filter((k) => samples[k]).map((k) => [k, summarize(samples[k]!)]));
}

/**
 * The breakdown table: for each lifecycle RPC, the p50 of its total, of each named part (libpod requests and host
 * work, summed when a call makes the same one twice) and of the rest (our own code, gRPC, waiting for the event
 * loop), from the server's JSON `call` log lines.
 */
export function breakdown(log: string): string {
  const calls: Record<string, { ms: number; parts: Record<string, number> }[]> = {};
  for (const line of log.split("\n")) {
    if (!line.startsWith("{")) continue;
    let entry: { msg?: string; rpc?: string; ms?: number; podman?: string };
    try {
      entry = JSON.parse(line);
    } catch {
      continue;
    }
    if (entry.msg !== "call" || !entry.rpc || !(LIFECYCLE_RPCS as readonly string[]).includes(entry.rpc)) continue;
    const parts: Record<string, number> = {};
    for (const span of (entry.podman ?? "").split(", ").filter((s) => s)) {
      const at = span.lastIndexOf(" ");
      const name = span.slice(0, at);
      parts[name] = (parts[name] ?? 0) + Number(span.slice(at + 1));
    }
    (calls[entry.rpc] ??= []).push({ ms: entry.ms ?? 0, parts });
  }
  const rows = ["| RPC | p50 ms | part | p50 ms of part | calls with it |", "|---|---:|---|---:|---:|"];
  for (const rpc of LIFECYCLE_RPCS) {
    const list = calls[rpc] ?? [];
    if (list.length === 0) continue;
    rows.push(`| ${rpc} | ${summarize(list.map((c) => c.ms)).p50.toFixed(1)} | | | |`);
    const names = [...new Set(list.flatMap((c) => Object.keys(c.parts)))];
    for (const name of names) {
      const with_ = list.filter((c) => name in c.parts);
      rows.push(`| | | ${name} | ${summarize(with_.map((c) => c.parts[name]!)).p50.toFixed(1)} | ${with_.length} |`);
    }
    const rest = list.map((c) => c.ms - Object.values(c.parts).reduce((a, b) => a + b, 0));
    rows.push(`| | | rest (ours, gRPC, event loop) | ${summarize(rest).p50.toFixed(1)} | ${list.length} |`);
  }
  return rows.join("\n");
}
