import assert from "node:assert/strict";
import { status } from "@grpc/grpc-js";
import {
  MetricType,
  type StreamContainerStatsResponse,
  type StreamPodSandboxMetricsResponse,
  type StreamPodSandboxStatsResponse,
} from "../../gen/runtime/v1/api_pb.ts";
import { type InProcessCri, startInProcessCri } from "../../../tests/harness/in_process_cri.ts";
import {
  createContainer,
  refusesUnknownAndEmptyContainerId,
  rejectsWith,
  runSandbox,
  startedContainer,
} from "../../../tests/harness/handler_fixtures.ts";
import { FAKE_GRAPH_ROOT } from "../../../tests/fake_podman.ts";
import { FakeProc } from "../../../tests/fake_proc.ts";

const MiB = 1024 * 1024;

/** A ready sandbox with a running container whose processes are a shell with two children. */
async function podWithShell(cri: InProcessCri, proc: FakeProc, name = "web") {
  const podSandboxId = await runSandbox(cri, name);
  const infraId = cri.fake.pods_.get(podSandboxId)!.infraId;
  const containerId = await startedContainer(cri, podSandboxId, `${name}-app`);
  const base = proc.processes.size * 10 + 100;
  proc.addContainer(infraId, base, [{
    pid: base + 1,
    comm: "catatonit",
    anonBytes: 64 * 1024,
    netns: `net:[${base}]`,
  }]);
  proc.processes.get(base + 1)!.netDev = [
    { name: "lo", ...counters(1) },
    { name: "eth0", ...counters(1000) },
  ];
  proc.addContainer(containerId, base + 2, [{ pid: base + 3, cpuTicks: 150, anonBytes: 2 * MiB, fileBytes: MiB }]);
  proc.add(
    { pid: base + 4, ppid: base + 3, cpuTicks: 50, anonBytes: MiB, minorFaults: 10, majorFaults: 2, threads: 4 },
    { pid: base + 5, ppid: base + 3, cpuTicks: 0, anonBytes: MiB },
  );
  return { podSandboxId, infraId, containerId, infraPid: base + 1, shellPid: base + 3 };
}

function counters(n: number) {
  const b = BigInt(n);
  return {
    rxBytes: b * 10n,
    rxPackets: b,
    rxErrors: 0n,
    rxDropped: 0n,
    txBytes: b * 20n,
    txPackets: b * 2n,
    txErrors: 1n,
    txDropped: 0n,
  };
}

Deno.test("containerStats() sums a running container's processes: CPU, memory, faults, and its writable layer", async () => {
  const proc = new FakeProc();
  await using cri = await startInProcessCri({ proc });
  const { containerId } = await podWithShell(cri, proc);
  const { stats } = await cri.runtime.containerStats({ containerId });
  assert.equal(stats?.attributes?.id, containerId);
  assert.equal(stats?.attributes?.metadata?.name, "web-app");
  assert.equal(stats?.cpu?.usageCoreNanoSeconds?.value, 200n * 10_000_000n, "200 ticks of 10 ms");
  assert.ok((stats?.cpu?.timestamp ?? 0n) > 0n);
  assert.equal(stats?.cpu?.usageNanoCores, undefined, "no rate from a first sample");
  assert.equal(stats?.memory?.workingSetBytes?.value, BigInt(5 * MiB));
  assert.equal(stats?.memory?.rssBytes?.value, BigInt(4 * MiB));
  assert.equal(stats?.memory?.pageFaults?.value, 12n);
  assert.equal(stats?.memory?.majorPageFaults?.value, 2n);
  assert.equal(stats?.writableLayer?.usedBytes?.value, 4096n);
  assert.equal(stats?.writableLayer?.inodesUsed?.value, 7n);
  assert.equal(stats?.writableLayer?.fsId?.mountpoint, FAKE_GRAPH_ROOT);
});

Deno.test("containerStats() gives a rate between samples and never lets cumulative CPU go back", async () => {
  const proc = new FakeProc();
  await using cri = await startInProcessCri({ proc });
  const { containerId, shellPid } = await podWithShell(cri, proc);
  proc.nowMs = 1_000_000;
  await cri.runtime.containerStats({ containerId });
  proc.nowMs += 2_000;
  proc.processes.get(shellPid)!.cpuTicks = 250; // +100 ticks = 1 s of CPU in 2 s
  const second = (await cri.runtime.containerStats({ containerId })).stats;
  assert.equal(second?.cpu?.usageCoreNanoSeconds?.value, 300n * 10_000_000n);
  assert.equal(second?.cpu?.usageNanoCores?.value, 500_000_000n, "half a core");
  // A child nobody in the container waited for exits with its 50 ticks: the total stays.
  proc.processes.delete(shellPid + 1);
  proc.nowMs += 1_000;
  const third = (await cri.runtime.containerStats({ containerId })).stats;
  assert.equal(third?.cpu?.usageCoreNanoSeconds?.value, 300n * 10_000_000n);
  assert.equal(third?.cpu?.usageNanoCores?.value, 0n);
});

Deno.test("containerStats() of a created container, or one whose processes are gone, is zero usage and no error", async () => {
  const proc = new FakeProc();
  await using cri = await startInProcessCri({ proc });
  const podSandboxId = await runSandbox(cri);
  const created = await createContainer(cri, podSandboxId, "later");
  const c = (await cri.runtime.containerStats({ containerId: created })).stats;
  assert.equal(c?.cpu?.usageCoreNanoSeconds?.value, 0n);
  assert.equal(c?.memory?.workingSetBytes?.value, 0n);
  const running = await startedContainer(cri, podSandboxId, "exiting"); // no processes in the table: it just ended
  const r = (await cri.runtime.containerStats({ containerId: running })).stats;
  assert.equal(r?.memory?.workingSetBytes?.value, 0n);
});

Deno.test("containerStats() answers NOT_FOUND for an unknown or removed container, INVALID_ARGUMENT for none", async () => {
  await using cri = await startInProcessCri();
  await refusesUnknownAndEmptyContainerId((containerId) => cri.runtime.containerStats({ containerId }));
  const podSandboxId = await runSandbox(cri);
  const containerId = await createContainer(cri, podSandboxId);
  await cri.runtime.removeContainer({ containerId });
  await assert.rejects(
    cri.runtime.containerStats({ containerId }),
    rejectsWith(status.NOT_FOUND, /Container ".*" not found/),
  );
});

Deno.test("listContainerStats() measures every selected container in one scan, and filters like ListContainers", async () => {
  const proc = new FakeProc();
  await using cri = await startInProcessCri({ proc });
  const a = await podWithShell(cri, proc, "a");
  const b = await podWithShell(cri, proc, "b");
  const exited = await startedContainer(cri, b.podSandboxId, "done");
  await cri.runtime.stopContainer({ containerId: exited, timeout: 0n });
  const scans = proc.scans;
  const all = (await cri.runtime.listContainerStats({})).stats;
  assert.equal(proc.scans - scans, 1, "one pass over the process table");
  assert.deepEqual(all.map((s) => s.attributes?.id).sort(), [a.containerId, b.containerId].sort(), "exited left out");
  const byPod = (await cri.runtime.listContainerStats({ filter: { podSandboxId: b.podSandboxId.slice(0, 8) } })).stats;
  assert.deepEqual(byPod.map((s) => s.attributes?.id), [b.containerId]);
  const byId = (await cri.runtime.listContainerStats({ filter: { id: a.containerId } })).stats;
  assert.deepEqual(byId.map((s) => s.attributes?.id), [a.containerId]);
  const none = (await cri.runtime.listContainerStats({ filter: { labelSelector: { no: "such" } } })).stats;
  assert.deepEqual(none, []);
  const streamed = await cri.stream<StreamContainerStatsResponse>("runtime", "streamContainerStats", {});
  assert.equal(streamed.flatMap((m) => m.containerStats).length, 2);
});

Deno.test("podSandboxStats() sums the pod (infra included), counts its processes, reads its own network", async () => {
  const proc = new FakeProc();
  await using cri = await startInProcessCri({ proc });
  const { podSandboxId, containerId } = await podWithShell(cri, proc);
  const { stats } = await cri.runtime.podSandboxStats({ podSandboxId });
  const linux = stats?.linux;
  assert.equal(stats?.attributes?.id, podSandboxId);
  assert.equal(stats?.attributes?.metadata?.name, "web");
  assert.equal(linux?.process?.processCount?.value, 4n, "the infra's catatonit, the shell and its two children");
  assert.equal(linux?.memory?.workingSetBytes?.value, BigInt(5 * MiB + 64 * 1024));
  assert.equal(linux?.cpu?.usageCoreNanoSeconds?.value, 200n * 10_000_000n);
  assert.deepEqual(linux?.containers.map((c) => c.attributes?.id), [containerId]);
  assert.equal(linux?.network?.defaultInterface?.name, "eth0");
  assert.equal(linux?.network?.defaultInterface?.rxBytes?.value, 10_000n);
  assert.equal(linux?.network?.defaultInterface?.txErrors?.value, 1n);
  assert.deepEqual(linux?.network?.interfaces.map((i) => i.name), ["eth0"], "loopback left out");
  await assert.rejects(cri.runtime.podSandboxStats({ podSandboxId: "ffff" }), rejectsWith(status.NOT_FOUND, /ffff/));
  await assert.rejects(
    cri.runtime.podSandboxStats({ podSandboxId: "" }),
    rejectsWith(status.INVALID_ARGUMENT, /pod_sandbox_id/),
  );
});

Deno.test("listPodSandboxStats() lists ready sandboxes by filter; a pod on the host's network has no network stats", async () => {
  const proc = new FakeProc();
  await using cri = await startInProcessCri({ proc });
  const a = await podWithShell(cri, proc, "a");
  const b = await podWithShell(cri, proc, "b");
  delete proc.processes.get(b.infraPid)!.netns; // b's infra now shares the host's namespace
  await cri.runtime.stopPodSandbox({ podSandboxId: await runSandbox(cri, "stopped") });
  const all = (await cri.runtime.listPodSandboxStats({})).stats;
  assert.deepEqual(
    all.map((s) => s.attributes?.id).sort(),
    [a.podSandboxId, b.podSandboxId].sort(),
    "not-ready left out",
  );
  const onlyB = (await cri.runtime.listPodSandboxStats({ filter: { id: b.podSandboxId } })).stats;
  assert.equal(onlyB[0]?.linux?.network, undefined);
  const streamed = await cri.stream<StreamPodSandboxStatsResponse>("runtime", "streamPodSandboxStats", {});
  assert.equal(streamed.flatMap((m) => m.podSandboxStats).length, 2);
});

Deno.test("listPodSandboxMetrics() sends only described metrics, with one label value per label key", async () => {
  const proc = new FakeProc();
  await using cri = await startInProcessCri({ proc });
  const { podSandboxId, containerId, infraId } = await podWithShell(cri, proc);
  const { descriptors } = await cri.runtime.listMetricDescriptors({});
  const keys = new Map(descriptors.map((d) => [d.name, d.labelKeys.length]));
  assert.ok(keys.has("container_cpu_usage_seconds_total") && keys.has("container_network_receive_bytes_total"));
  const { podMetrics } = await cri.runtime.listPodSandboxMetrics({});
  assert.equal(podMetrics.length, 1);
  const pod = podMetrics[0]!;
  assert.equal(pod.podSandboxId, podSandboxId);
  const all = [...pod.metrics, ...pod.containerMetrics.flatMap((c) => c.metrics)];
  for (const m of all) {
    assert.equal(m.labelValues.length, keys.get(m.name), `${m.name}: label values match its descriptor`);
  }
  const app = pod.containerMetrics.find((c) => c.containerId === containerId)!;
  const value = (name: string) => app.metrics.find((m) => m.name === name)?.value?.value;
  assert.equal(value("container_processes"), 3n, "a shell with two children");
  assert.equal(value("container_threads"), 6n);
  assert.equal(value("container_cpu_usage_seconds_total"), 2n);
  assert.equal(app.metrics.find((m) => m.name === "container_cpu_usage_seconds_total")?.metricType, MetricType.COUNTER);
  const rx = pod.metrics.find((m) => m.name === "container_network_receive_bytes_total");
  assert.deepEqual(rx?.labelValues, [infraId, "POD", "", "eth0"]);
  assert.equal(rx?.value?.value, 10_000n);
  const streamed = await cri.stream<StreamPodSandboxMetricsResponse>("runtime", "streamPodSandboxMetrics", {});
  assert.equal(streamed.flatMap((m) => m.podSandboxMetrics).length, 1);
});
