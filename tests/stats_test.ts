/**
 * Integration: the stats and metrics RPCs on real rootless Podman through the real cri-podman process. On these
 * hosts (cgroup v1, or v2 without delegation) rootless Podman has no stats of its own: every number here is measured
 * from the containers' processes, and must move with load as kubelet and `crictl stats` expect.
 */
import assert from "node:assert/strict";
import { status as grpcStatus } from "@grpc/grpc-js";
import type { MessageInitShape } from "@bufbuild/protobuf";
import {
  type ContainerConfigSchema,
  NamespaceMode,
  type PodSandboxConfigSchema,
} from "../src/gen/runtime/v1/api_pb.ts";
import { BUSYBOX_IMAGE, ensureBusyboxImage } from "./harness/busybox_image.ts";
import type { CallError, CriClient } from "./harness/cri_client.ts";
import { startCriServer } from "./harness/cri_server.ts";
import { startPodmanService } from "./harness/podman_service.ts";
import { makeTempDir, type TempDir, uniqueName, waitFor } from "./harness/temp.ts";

type ContainerConfig = MessageInitShape<typeof ContainerConfigSchema>;
type SandboxConfig = MessageInitShape<typeof PodSandboxConfigSchema>;
const MiB = 1024n * 1024n;

async function runPod(client: CriClient, logs: TempDir): Promise<{ id: string; config: SandboxConfig }> {
  const name = uniqueName("spod");
  const config: SandboxConfig = {
    metadata: { name, namespace: "stats-test", uid: `${name}-uid`, attempt: 0 },
    logDirectory: `${logs.path}/${name}`,
    linux: { securityContext: { namespaceOptions: { network: NamespaceMode.POD, pid: NamespaceMode.CONTAINER } } },
  };
  return { id: (await client.runtime.runPodSandbox({ config })).podSandboxId, config };
}

async function runShell(
  client: CriClient,
  pod: { id: string; config: SandboxConfig },
  name: string,
  script: string,
  start = true,
): Promise<string> {
  const config: ContainerConfig = {
    metadata: { name, attempt: 0 },
    image: { image: BUSYBOX_IMAGE },
    command: ["/bin/sh", "-c", script],
    logPath: `${name}.log`,
  };
  const { containerId } = await client.runtime.createContainer({
    podSandboxId: pod.id,
    config,
    sandboxConfig: pod.config,
  });
  if (start) await client.runtime.startContainer({ containerId });
  return containerId;
}

const cpuNs = async (client: CriClient, containerId: string) =>
  (await client.runtime.containerStats({ containerId })).stats?.cpu?.usageCoreNanoSeconds?.value ?? 0n;

Deno.test("stats on real rootless Podman move with load", async (t) => {
  await ensureBusyboxImage();
  await using podman = await startPodmanService();
  await using cri = await startCriServer({ podmanSocket: podman.socketPath });
  await using logs = await makeTempDir("stats-logs");
  const client = cri.client;
  const pod = await runPod(client, logs);
  try {
    await t.step("a CPU burner's cumulative CPU rises by about its share of wall time", async () => {
      const id = await runShell(client, pod, "burner", "while :; do :; done");
      await waitFor(async () => (await cpuNs(client, id)) > 0n, { timeoutMs: 10_000, what: "the burner's first tick" });
      const t0 = performance.now();
      const c0 = await cpuNs(client, id);
      await new Promise((r) => setTimeout(r, 2_000));
      const second = (await client.runtime.containerStats({ containerId: id })).stats;
      const wallNs = BigInt(Math.round((performance.now() - t0) * 1e6));
      const used = (second?.cpu?.usageCoreNanoSeconds?.value ?? 0n) - c0;
      const share = Number(used) / Number(wallNs);
      console.log(`burner: ${(Number(used) / 1e9).toFixed(2)} s of CPU in ${(Number(wallNs) / 1e9).toFixed(2)} s`);
      // One busy thread on a 2-core machine that the test itself also uses: between a third of a core and one core.
      assert.ok(share > 0.33 && share < 1.1, `CPU share ${share.toFixed(2)} of a core`);
      const rate = Number(second?.cpu?.usageNanoCores?.value ?? 0n) / 1e9;
      assert.ok(rate > 0.33 && rate < 1.1, `usage_nano_cores ${rate.toFixed(2)} cores`);
      await client.runtime.stopContainer({ containerId: id, timeout: 0n });
    });

    await t.step("a 64 MiB allocator's working set exceeds 64 MiB", async () => {
      // The shell keeps 64 MiB of 'a' in a variable (every page written), then waits.
      const id = await runShell(
        client,
        pod,
        "alloc",
        "x=$(head -c 67108864 /dev/zero | tr '\\0' a); echo ready; while :; do sleep 1; done",
      );
      await waitFor(
        async () => (await Deno.readTextFile(`${pod.config.logDirectory}/alloc.log`).catch(() => "")).includes("ready"),
        {
          timeoutMs: 20_000,
          what: "the allocator to fill its 64 MiB",
        },
      );
      const ws = (await client.runtime.containerStats({ containerId: id })).stats!.memory!;
      assert.ok(ws.workingSetBytes!.value > 64n * MiB, `working set ${ws.workingSetBytes!.value} bytes`);
      console.log(
        `allocator: working set ${ws.workingSetBytes!.value / MiB} MiB, rss ${ws.rssBytes?.value! / MiB} MiB`,
      );
      assert.ok(ws.rssBytes!.value > 64n * MiB, "the 64 MiB are anonymous memory");
      assert.ok(ws.pageFaults!.value > 64n * 256n, "at least one fault per 4 KiB page written");
      await client.runtime.stopContainer({ containerId: id, timeout: 0n });
    });

    await t.step("a shell with two children counts 3 processes; its pod counts the infra's too", async () => {
      const own = await runPod(client, logs);
      try {
        const id = await runShell(client, own, "three", "sleep 3600 & sleep 3600 & wait");
        const metrics = await waitFor(async () => {
          const { podMetrics } = await client.runtime.listPodSandboxMetrics({});
          const c = podMetrics.find((p) => p.podSandboxId === own.id)?.containerMetrics.find((c) =>
            c.containerId === id
          );
          const n = c?.metrics.find((m) => m.name === "container_processes")?.value?.value;
          return n === 3n ? c : undefined;
        }, { timeoutMs: 10_000, what: "container_processes to reach 3" });
        assert.ok(metrics.metrics.some((m) => m.name === "container_memory_working_set_bytes"));
        const { stats } = await client.runtime.podSandboxStats({ podSandboxId: own.id });
        assert.equal(stats?.linux?.process?.processCount?.value, 4n, "the infra container's pause and the three");
        assert.deepEqual(stats?.linux?.containers.map((c) => c.attributes?.id), [id]);
        const { descriptors } = await client.runtime.listMetricDescriptors({});
        const described = new Set(descriptors.map((d) => d.name));
        assert.ok(metrics.metrics.every((m) => described.has(m.name)), "every metric sent is described");
      } finally {
        await client.runtime.stopPodSandbox({ podSandboxId: own.id });
        await client.runtime.removePodSandbox({ podSandboxId: own.id });
      }
    });

    await t.step("the pod's network counters move when it sends traffic", async () => {
      const status = await client.runtime.podSandboxStatus({ podSandboxId: pod.id });
      const ip = status.status?.network?.ip ?? "";
      assert.match(ip, /^\d+\.\d+\.\d+\.\d+$/);
      // TCP connections refused by the pod network's gateway (busybox's static wget crashes on a lookup): the bridge inside Podman's rootless network namespace (never the host's network).
      const gateway = ip.replace(/\.\d+$/, ".1");
      const before = (await client.runtime.podSandboxStats({ podSandboxId: pod.id })).stats?.linux?.network;
      assert.equal(before?.defaultInterface?.name, "eth0");
      const id = await runShell(
        client,
        pod,
        "talker",
        `for i in 1 2 3 4 5; do echo x | nc -w 1 ${gateway} 9; done; sleep 3600`,
      );
      const after = await waitFor(async () => {
        const n = (await client.runtime.podSandboxStats({ podSandboxId: pod.id })).stats?.linux?.network;
        return (n?.defaultInterface?.txBytes?.value ?? 0n) > (before?.defaultInterface?.txBytes?.value ?? 0n) + 200n
          ? n
          : undefined;
      }, { timeoutMs: 15_000, what: "eth0's transmitted bytes to grow" });
      assert.ok(after.defaultInterface!.rxBytes!.value >= before!.defaultInterface!.rxBytes!.value);
      await client.runtime.stopContainer({ containerId: id, timeout: 0n });
    });

    await t.step("the writable layer counts what a container wrote", async () => {
      const id = await runShell(
        client,
        pod,
        "writer",
        "dd if=/dev/zero of=/big bs=1M count=8 2>/dev/null; echo done; sleep 3600",
      );
      await waitFor(
        async () => (await Deno.readTextFile(`${pod.config.logDirectory}/writer.log`).catch(() => "")).includes("done"),
        {
          timeoutMs: 15_000,
          what: "the writer to finish",
        },
      );
      const layer = (await client.runtime.containerStats({ containerId: id })).stats?.writableLayer;
      assert.ok((layer?.usedBytes?.value ?? 0n) >= 8n * MiB, `writable layer ${layer?.usedBytes?.value} bytes`);
      assert.ok((layer?.inodesUsed?.value ?? 0n) >= 1n);
      assert.ok(layer?.fsId?.mountpoint);
      await client.runtime.stopContainer({ containerId: id, timeout: 0n });
    });

    await t.step(
      "ListContainerStats lists running and created containers, not exited ones; bad IDs are clear",
      async () => {
        const running = await runShell(client, pod, "listed", "sleep 3600");
        const created = await runShell(client, pod, "created", "sleep 3600", false);
        const { stats } = await client.runtime.listContainerStats({ filter: { podSandboxId: pod.id } });
        const ids = stats.map((s) => s.attributes?.id);
        assert.ok(ids.includes(running) && ids.includes(created));
        assert.equal(
          ids.length,
          2,
          `the stopped containers of the steps above are left out: ${stats.map((s) => s.attributes?.metadata?.name)}`,
        );
        const zero = stats.find((s) => s.attributes?.id === created);
        assert.equal(zero?.cpu?.usageCoreNanoSeconds?.value, 0n);
        assert.equal(zero?.memory?.workingSetBytes?.value, 0n);
        await client.runtime.removeContainer({ containerId: created });
        await assert.rejects(client.runtime.containerStats({ containerId: created }), (err: CallError) => {
          assert.equal(err.code, grpcStatus.NOT_FOUND);
          assert.match(err.details, new RegExp(created));
          return true;
        });
      },
    );
  } finally {
    await client.runtime.stopPodSandbox({ podSandboxId: pod.id }).catch(() => {});
    await client.runtime.removePodSandbox({ podSandboxId: pod.id }).catch(() => {});
  }
});
