/**
 * Integration: the lifecycle shortcuts of issue 11 keep kubelet's guarantees, on real rootless Podman. StopContainer
 * signals and watches the main process itself; StopPodSandbox kills the containers directly and stops the infra
 * container through Podman so the network is released in that call; the pod network's keeper keeps the bridge.
 * Each step checks the guarantee where Podman and the kernel keep it, not through cri-podman's own answers.
 */
import assert from "node:assert/strict";
import { ContainerState, NamespaceMode, PodSandboxState, Protocol } from "../src/gen/runtime/v1/api_pb.ts";
import { netnsKeeperName } from "../src/translate/sandbox.ts";
import { BUSYBOX_IMAGE, ensureBusyboxImage } from "./harness/busybox_image.ts";
import { startCriServer } from "./harness/cri_server.ts";
import { startPodmanService } from "./harness/podman_service.ts";
import { freePort, makeTempDir, processExists, uniqueName, waitFor } from "./harness/temp.ts";

interface Inspect {
  Id: string;
  State: { Status: string; Pid: number; ExitCode: number };
  NetworkSettings?: { Networks?: Record<string, { IPAddress?: string }> | null };
}

/** Every conmon of this user that monitors one of `ids`. */
function conmonsOf(ids: readonly string[]): number[] {
  const found: number[] = [];
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const argv = Deno.readTextFileSync(`/proc/${entry.name}/cmdline`).split("\0");
      if (!argv[0]?.endsWith("conmon")) continue;
      if (ids.some((id) => argv.includes(id))) found.push(Number(entry.name));
    } catch {
      // gone, or not ours
    }
  }
  return found;
}

/**
 * No conmon of `ids` is left. A conmon whose container was killed directly runs Podman's clean-up command after the
 * exit (150–250 ms) and ends by itself then, even when the container was removed meanwhile: allowed 5 s to go.
 */
async function noConmonLeft(ids: readonly string[]): Promise<void> {
  await waitFor(() => conmonsOf(ids).length === 0, {
    timeoutMs: 5_000,
    what: `the conmons of ${ids.join(", ")} to end`,
  });
}

Deno.test("lifecycle shortcuts keep kubelet's guarantees", async (t) => {
  await ensureBusyboxImage();
  await using podman = await startPodmanService();
  await using logs = await makeTempDir("stop-guarantees");
  const env = { CRI_PODMAN_LOG_FORMAT: "text" };
  const first = await startCriServer({ podmanSocket: podman.socketPath, env });
  let cri = first;
  const inspect = async (id: string): Promise<Inspect> => {
    const res = await podman.request("GET", `/v4.0.0/libpod/containers/${id}/json`);
    assert.equal(res.status, 200, res.body);
    return JSON.parse(res.body);
  };
  const podInspect = async (id: string) => {
    const res = await podman.request("GET", `/v4.0.0/libpod/pods/${id}/json`);
    return res.status === 200
      ? JSON.parse(res.body) as { InfraContainerID: string; Containers: { Id: string }[] }
      : undefined;
  };
  const sandboxConfig = (name: string, extra: Record<string, unknown> = {}) => ({
    metadata: { name, namespace: "stop", uid: `${name}-uid`, attempt: 1 },
    hostname: "stop",
    logDirectory: `${logs.path}/${name}`,
    linux: { securityContext: { namespaceOptions: { network: NamespaceMode.POD, pid: NamespaceMode.CONTAINER } } },
    ...extra,
  });
  const runPod = async (name: string, command: string[], extra: Record<string, unknown> = {}) => {
    const config = sandboxConfig(name, extra);
    const { podSandboxId } = await cri.client.runtime.runPodSandbox({ config });
    const { containerId } = await cri.client.runtime.createContainer({
      podSandboxId,
      config: { metadata: { name: "main", attempt: 0 }, image: { image: BUSYBOX_IMAGE }, command, logPath: "main.log" },
      sandboxConfig: config,
    });
    await cri.client.runtime.startContainer({ containerId });
    const infra = (await podInspect(podSandboxId))!.InfraContainerID;
    return { podSandboxId, containerId, infra, pid: (await inspect(containerId)).State.Pid };
  };
  const released = (c: Inspect) => Object.values(c.NetworkSettings?.Networks ?? {}).every((n) => !n.IPAddress);

  try {
    await t.step("the pod network's keeper runs on the pod network", async () => {
      const pod = await runPod(uniqueName("keep"), ["/bin/sleep", "600"]);
      const keeper = await podInspect(netnsKeeperName(cri.network));
      assert.ok(keeper, "keeper pod exists");
      const infra = await inspect(keeper.InfraContainerID);
      assert.equal(infra.State.Status, "running");
      assert.deepEqual(Object.keys(infra.NetworkSettings?.Networks ?? {}), [cri.network]);
      await cri.client.runtime.removePodSandbox({ podSandboxId: pod.podSandboxId });
    });

    await t.step("StopContainer returns with the main process dead: SIGKILL once the timeout passed", async () => {
      // PID 1 of its own PID namespace ignores SIGTERM it has no handler for: only the SIGKILL ends it.
      const pod = await runPod(uniqueName("term"), ["/bin/sleep", "600"]);
      assert.ok(processExists(pod.pid));
      const started = performance.now();
      await cri.client.runtime.stopContainer({ containerId: pod.containerId, timeout: 1n });
      const ms = performance.now() - started;
      assert.ok(!processExists(pod.pid), "the main process is gone when StopContainer returns");
      assert.ok(ms >= 1_000 && ms < 5_000, `waited the 1 s timeout, then killed (${ms.toFixed(0)} ms)`);
      const { status } = await cri.client.runtime.containerStatus({ containerId: pod.containerId });
      assert.equal(status?.state, ContainerState.CONTAINER_EXITED);
      assert.equal(status?.exitCode, 137);
      assert.ok((status?.finishedAt ?? 0n) > 0n);
      await cri.client.runtime.removePodSandbox({ podSandboxId: pod.podSandboxId });
    });

    await t.step("StopContainer: a process that exits on its stop signal ends the call at once", async () => {
      const pod = await runPod(uniqueName("trap"), ["/bin/sh", "-c", "trap 'exit 3' TERM; while :; do sleep 1; done"]);
      await new Promise((resolve) => setTimeout(resolve, 300)); // the trap is set
      const started = performance.now();
      await cri.client.runtime.stopContainer({ containerId: pod.containerId, timeout: 30n });
      const ms = performance.now() - started;
      assert.ok(!processExists(pod.pid));
      assert.ok(ms < 5_000, `did not wait for the 30 s timeout (${ms.toFixed(0)} ms)`);
      const { status } = await cri.client.runtime.containerStatus({ containerId: pod.containerId });
      assert.equal(status?.exitCode, 3);
      await cri.client.runtime.removePodSandbox({ podSandboxId: pod.podSandboxId });
    });

    await t.step(
      "StopPodSandbox: every process dead, the network released, its host port free at once; Remove leaves nothing",
      async () => {
        const hostPort = freePort();
        const portMappings = [{ protocol: Protocol.TCP, containerPort: 8080, hostPort, hostIp: "127.0.0.1" }];
        const pod = await runPod(uniqueName("net"), ["/bin/sleep", "600"], { portMappings });
        const infraPid = (await inspect(pod.infra)).State.Pid;
        await cri.client.runtime.stopPodSandbox({ podSandboxId: pod.podSandboxId });
        assert.ok(!processExists(pod.pid), "container process gone");
        assert.ok(!processExists(infraPid), "infra process gone");
        const infra = await inspect(pod.infra);
        assert.ok(released(infra), `no address held: ${JSON.stringify(infra.NetworkSettings)}`);
        // A new pod takes the same host port right away: Podman's port forwarder let go of it.
        const next = await cri.client.runtime.runPodSandbox({
          config: sandboxConfig(uniqueName("next"), { portMappings }),
        });
        const { status } = await cri.client.runtime.podSandboxStatus({ podSandboxId: pod.podSandboxId });
        assert.equal(status?.state, PodSandboxState.SANDBOX_NOTREADY);
        await cri.client.runtime.removePodSandbox({ podSandboxId: next.podSandboxId });

        // RemovePodSandbox leaves nothing: no pod, no container, no conmon.
        await cri.client.runtime.removePodSandbox({ podSandboxId: pod.podSandboxId });
        assert.equal(await podInspect(pod.podSandboxId), undefined);
        for (const id of [pod.containerId, pod.infra]) {
          const res = await podman.request("GET", `/v4.0.0/libpod/containers/${id}/json`);
          assert.equal(res.status, 404, `container ${id} is gone`);
        }
        await noConmonLeft([pod.containerId, pod.infra]);
      },
    );

    await t.step("a restart of cri-podman in the middle of StopPodSandbox loses nothing", async () => {
      const name = uniqueName("restart");
      const pod = await runPod(name, ["/bin/sleep", "600"]);
      const infraPid = (await inspect(pod.infra)).State.Pid;
      const stopping = cri.client.runtime.stopPodSandbox({ podSandboxId: pod.podSandboxId }).then(
        () => "done",
        () => "cut",
      );
      await new Promise((resolve) => setTimeout(resolve, 5));
      cri.process.kill("SIGKILL");
      await stopping;
      const { network, subnet, socketPath } = cri;
      cri.client.close();
      await cri.process.exited;
      cri = await startCriServer({
        podmanSocket: podman.socketPath,
        listen: socketPath.replace(/cri\.sock$/, "cri-again.sock"),
        env: { ...env, CRI_PODMAN_PODS_NETWORK: network, CRI_PODMAN_PODS_DEFAULT_SUBNET: subnet },
      });
      const listed = (await cri.client.runtime.listPodSandbox({ filter: { id: pod.podSandboxId } })).items;
      assert.equal(listed.length, 1, "the sandbox is still known");
      assert.equal(listed[0]?.metadata?.name, name);
      assert.equal(listed[0]?.metadata?.attempt, 1);
      await cri.client.runtime.stopPodSandbox({ podSandboxId: pod.podSandboxId });
      assert.ok(!processExists(pod.pid) && !processExists(infraPid));
      assert.ok(released(await inspect(pod.infra)));
      const containers = (await cri.client.runtime.listContainers({ filter: { podSandboxId: pod.podSandboxId } }))
        .containers;
      assert.deepEqual(containers.map((c) => [c.id, c.state]), [[pod.containerId, ContainerState.CONTAINER_EXITED]]);
      await cri.client.runtime.removePodSandbox({ podSandboxId: pod.podSandboxId });
      assert.equal(await podInspect(pod.podSandboxId), undefined);
      await noConmonLeft([pod.containerId, pod.infra]);
    });
  } finally {
    if (cri !== first) await cri[Symbol.asyncDispose]();
    // The first server owns the network (the second was told to use it): removing it removes its keeper too.
    await first[Symbol.asyncDispose]();
  }
  await waitFor(async () => (await podInspect(netnsKeeperName(first.network))) === undefined, {
    timeoutMs: 10_000,
    what: "the keeper pod to go with its network",
  });
});
