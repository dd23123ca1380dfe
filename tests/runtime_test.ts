/**
 * Integration: the RuntimeService calls of the foundation (Version, Status, RuntimeConfig, UpdateRuntimeConfig) and
 * UNIMPLEMENTED for the rest, against the real cri-podman process and a real rootless Podman.
 */
import assert from "node:assert/strict";
import { status as grpcStatus } from "@grpc/grpc-js";
import { CgroupDriver } from "../src/gen/runtime/v1/api_pb.ts";
import { RuntimeService } from "../src/gen/runtime/v1/api_pb.ts";
import type { CallError } from "./harness/cri_client.ts";
import { startCriServer } from "./harness/cri_server.ts";
import { startPodmanService } from "./harness/podman_service.ts";

Deno.test("RuntimeService answers Version, Status, RuntimeConfig and UpdateRuntimeConfig", async (t) => {
  await using podman = await startPodmanService();
  await using cri = await startCriServer({ podmanSocket: podman.socketPath });
  const info = JSON.parse((await podman.request("GET", "/v4.0.0/libpod/info")).body);

  await t.step("Version names the runtime and the CRI API", async () => {
    const v = await cri.client.runtime.version({ version: "v1" });
    assert.equal(v.runtimeName, "cri-podman");
    assert.equal(v.runtimeApiVersion, "v1");
    assert.equal(v.version, "0.1.0");
    assert.match(v.runtimeVersion, /^\d+\.\d+\.\d+/);
  });

  await t.step("Status reports RuntimeReady and NetworkReady true and verbose Podman facts", async () => {
    const s = await cri.client.runtime.status({ verbose: true });
    const conditions = Object.fromEntries((s.status?.conditions ?? []).map((c) => [c.type, c]));
    assert.equal(conditions["RuntimeReady"]?.status, true);
    assert.equal(conditions["NetworkReady"]?.status, true, JSON.stringify(conditions["NetworkReady"]));
    const podmanInfo = JSON.parse(s.info["podman"] ?? "{}");
    assert.equal(podmanInfo.rootless, true);
    assert.equal(podmanInfo.graphRoot, info.store.graphRoot);
    assert.equal(podmanInfo.cgroupManager, info.host.cgroupManager);
    assert.equal(JSON.parse(s.info["config"] ?? "{}").podman.socket, podman.socketPath);
    assert.deepEqual(s.runtimeHandlers.map((h) => h.name), [""]);
  });

  await t.step("Status without verbose carries no info", async () => {
    const s = await cri.client.runtime.status({});
    assert.deepEqual(s.info, {});
  });

  await t.step("RuntimeConfig's cgroup driver matches Podman's cgroup manager", async () => {
    const rc = await cri.client.runtime.runtimeConfig({});
    const expected = info.host.cgroupManager === "systemd" ? CgroupDriver.SYSTEMD : CgroupDriver.CGROUPFS;
    assert.equal(rc.linux?.cgroupDriver, expected);
  });

  await t.step("UpdateRuntimeConfig records the pod CIDR and gives the (unused) pod network that subnet", async () => {
    const cidr = `10.${216 + Math.floor(Math.random() * 8)}.${Math.floor(Math.random() * 256)}.0/24`;
    await cri.client.runtime.updateRuntimeConfig({ runtimeConfig: { networkConfig: { podCidr: cidr } } });
    const s = await cri.client.runtime.status({ verbose: true });
    assert.equal(s.info["podCidr"], cidr);
    const net = JSON.parse((await podman.request("GET", `/v4.0.0/libpod/networks/${cri.network}/json`)).body);
    assert.deepEqual(net.subnets.map((n: { subnet: string }) => n.subnet), [cidr]);
    // An empty config changes nothing (kubelet sends one on start before it knows the CIDR).
    await cri.client.runtime.updateRuntimeConfig({});
    assert.equal((await cri.client.runtime.status({ verbose: true })).info["podCidr"], cidr);
  });

  await t.step("UpdateRuntimeConfig rejects a pod CIDR that is not one, naming the field", async () => {
    await assert.rejects(
      cri.client.runtime.updateRuntimeConfig({ runtimeConfig: { networkConfig: { podCidr: "not-a-cidr" } } }),
      (err: CallError) => {
        assert.equal(err.code, grpcStatus.INVALID_ARGUMENT);
        assert.match(err.details, /pod_cidr/);
        return true;
      },
    );
  });

  await t.step("every RPC not served yet answers UNIMPLEMENTED with its name", async () => {
    const served = new Set([
      "version",
      "status",
      "runtimeConfig",
      "updateRuntimeConfig",
      "runPodSandbox",
      "stopPodSandbox",
      "removePodSandbox",
      "podSandboxStatus",
      "listPodSandbox",
      "streamPodSandboxes",
      "updatePodSandboxResources",
      "createContainer",
      "startContainer",
      "stopContainer",
      "removeContainer",
      "listContainers",
      "streamContainers",
      "containerStatus",
      "updateContainerResources",
      "reopenContainerLog",
      "execSync",
      "exec",
      "attach",
      "portForward",
      "getContainerEvents",
      "containerStats",
      "listContainerStats",
      "streamContainerStats",
      "podSandboxStats",
      "listPodSandboxStats",
      "streamPodSandboxStats",
      "listMetricDescriptors",
      "listPodSandboxMetrics",
      "streamPodSandboxMetrics",
    ]);
    const client = cri.client.runtime as unknown as Record<string, (req: unknown) => Promise<unknown>>;
    let checked = 0;
    for (const method of RuntimeService.methods) {
      if (served.has(method.localName)) continue;
      const call = method.methodKind === "unary"
        ? client[method.localName]!({})
        : cri.client.stream("runtime", method.localName, {});
      await assert.rejects(call, (err: CallError) => {
        assert.equal(err.code, grpcStatus.UNIMPLEMENTED, `${method.name}: ${err.message}`);
        assert.match(err.details, new RegExp(`^${method.name} is not implemented`));
        return true;
      });
      checked++;
    }
    assert.equal(checked, 1, "CheckpointContainer alone");
  });

  await t.step("the server logged no crash", () => {
    assert.doesNotMatch(cri.log(), /fatal|Uncaught|panic/i);
  });
});
