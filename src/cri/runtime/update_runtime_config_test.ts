import assert from "node:assert/strict";
import { status } from "@grpc/grpc-js";
import type { PodmanFailure } from "../../podman/errors.ts";
import { type InProcessCri, startInProcessCri } from "../../../tests/harness/in_process_cri.ts";
import {
  hungAndCancelled,
  hungPastDeadline,
  rejectsWith,
  runSandbox,
} from "../../../tests/harness/handler_fixtures.ts";

/** Sends kubelet's pod CIDR. */
function sendCidr(cri: InProcessCri, podCidr: string, opts = {}) {
  return cri.runtime.updateRuntimeConfig({ runtimeConfig: { networkConfig: { podCidr } } }, opts);
}

/** The subnets of the pod network in the fake (undefined when it does not exist). */
const podNetworkSubnets = (cri: InProcessCri) => cri.fake.networks_.get("cri-podman")?.subnets?.map((s) => s.subnet);

Deno.test("updateRuntimeConfig() records the pod CIDR and creates the pod network with it", async () => {
  await using cri = await startInProcessCri();
  await sendCidr(cri, "10.244.1.0/24");
  assert.equal(cri.state.podCidr, "10.244.1.0/24");
  assert.deepEqual(podNetworkSubnets(cri), ["10.244.1.0/24"]);
  assert.equal(cri.fake.networks_.get("cri-podman")?.labels?.["io.cri-podman.managed"], "true");
  // The sandboxes that follow join it.
  await runSandbox(cri, "a");
  assert.equal(cri.fake.callsOf("networks.createBridge").length, 1);
});

Deno.test("updateRuntimeConfig() takes the IPv4 part of a dual-stack pod CIDR for the network", async () => {
  await using cri = await startInProcessCri();
  await sendCidr(cri, "fd00:10:244:1::/64, 10.244.2.0/24");
  assert.equal(cri.state.podCidr, "fd00:10:244:1::/64, 10.244.2.0/24");
  assert.deepEqual(podNetworkSubnets(cri), ["10.244.2.0/24"]);
});

Deno.test("updateRuntimeConfig() re-creates the pod network with a new CIDR while no pod uses it", async (t) => {
  await using cri = await startInProcessCri();
  await t.step("a network made for pods that are gone now", async () => {
    const id = await runSandbox(cri, "gone");
    assert.deepEqual(podNetworkSubnets(cri), ["10.85.0.0/16"], "the default subnet before kubelet sent one");
    await cri.runtime.removePodSandbox({ podSandboxId: id });
    await sendCidr(cri, "10.244.3.0/24");
    assert.deepEqual(podNetworkSubnets(cri), ["10.244.3.0/24"]);
  });
  await t.step("the same CIDR again changes nothing", async () => {
    const creates = cri.fake.callsOf("networks.createBridge").length;
    await sendCidr(cri, "10.244.3.0/24");
    assert.equal(cri.fake.callsOf("networks.createBridge").length, creates);
    assert.equal(cri.fake.callsOf("networks.remove").length, 1);
  });
  await t.step("a stopped pod still belongs to the network (it rejoins on restart): the subnet is kept", async () => {
    const id = await runSandbox(cri, "stopped");
    await cri.runtime.stopPodSandbox({ podSandboxId: id });
    await sendCidr(cri, "10.244.4.0/24");
    assert.deepEqual(podNetworkSubnets(cri), ["10.244.3.0/24"]);
    await cri.runtime.removePodSandbox({ podSandboxId: id });
    await sendCidr(cri, "10.244.4.0/24");
    assert.deepEqual(podNetworkSubnets(cri), ["10.244.4.0/24"], "applied once the pod is removed");
  });
});

Deno.test("updateRuntimeConfig() keeps the pod network while pods use it, and records the CIDR", async () => {
  await using cri = await startInProcessCri();
  const id = await runSandbox(cri, "busy");
  const network = cri.fake.networks_.get("cri-podman")!.id;
  await sendCidr(cri, "10.244.5.0/24");
  assert.equal(cri.state.podCidr, "10.244.5.0/24");
  assert.deepEqual(podNetworkSubnets(cri), ["10.85.0.0/16"], "the pods' addresses do not change under them");
  assert.equal(cri.fake.networks_.get("cri-podman")!.id, network, "the same network");
  assert.ok(cri.logs.some((l) => l.includes("pod CIDR not applied: pods use the network")));
  assert.ok(cri.fake.pods_.has(id));
});

Deno.test("updateRuntimeConfig() with no pod CIDR changes nothing and asks Podman nothing", async () => {
  await using cri = await startInProcessCri();
  const calls = cri.fake.calls.length;
  await cri.runtime.updateRuntimeConfig({});
  await cri.runtime.updateRuntimeConfig({ runtimeConfig: { networkConfig: { podCidr: "" } } });
  assert.equal(cri.state.podCidr, "");
  assert.equal(cri.fake.calls.length, calls);
});

Deno.test("updateRuntimeConfig() refuses a pod CIDR that is not one with INVALID_ARGUMENT naming the field", async (t) => {
  await using cri = await startInProcessCri();
  await sendCidr(cri, "10.244.0.0/24");
  const calls = cri.fake.calls.length;
  for (const bad of ["banana", "10.244.0.0", "10.244.0.0/33", "300.1.2.3/16", "10.244.0.0/24,nope", "fd00::/129"]) {
    await t.step(bad, async () => {
      await assert.rejects(
        sendCidr(cri, bad),
        rejectsWith(status.INVALID_ARGUMENT, /runtime_config\.network_config\.pod_cidr/),
      );
      assert.equal(cri.state.podCidr, "10.244.0.0/24", "the last good CIDR stays");
    });
  }
  assert.equal(cri.fake.calls.length, calls, "no Podman call for a refused CIDR");
  assert.deepEqual(podNetworkSubnets(cri), ["10.244.0.0/24"]);
});

Deno.test("updateRuntimeConfig() answers FAILED_PRECONDITION naming pods.default_subnet when the subnet is taken", async () => {
  await using cri = await startInProcessCri();
  cri.fake.failNext("networks.createBridge", "subnet-overlap", "subnet 10.244.0.0/24 is already used on the host");
  await assert.rejects(
    sendCidr(cri, "10.244.0.0/24"),
    rejectsWith(status.FAILED_PRECONDITION, /10\.244\.0\.0\/24.*pods\.default_subnet/),
  );
  assert.equal(podNetworkSubnets(cri), undefined);
});

Deno.test("updateRuntimeConfig() passes Podman's failures on with their code", async (t) => {
  const cases: Array<[string, PodmanFailure, status]> = [
    ["networks.inspect", "unreachable", status.UNAVAILABLE],
    ["networks.createBridge", "unknown", status.UNKNOWN],
    ["networks.remove", "in-use", status.FAILED_PRECONDITION],
    ["pods.list", "unreachable", status.UNAVAILABLE],
  ];
  for (const [op, reason, code] of cases) {
    await t.step(`${op} ${reason} → ${status[code]}`, async () => {
      await using cri = await startInProcessCri();
      await sendCidr(cri, "10.244.0.0/24"); // a network to re-create
      cri.fake.failNext(op, reason, `fake ${reason}`);
      await assert.rejects(sendCidr(cri, "10.244.9.0/24"), rejectsWith(code, /fake/));
    });
  }
});

Deno.test("updateRuntimeConfig() aborts a hung Podman call on its deadline or a client cancel", async (t) => {
  await t.step("deadline → DEADLINE_EXCEEDED", async () => {
    await using cri = await startInProcessCri();
    await hungPastDeadline(cri, "networks.inspect", (opts) => sendCidr(cri, "10.244.0.0/24", opts));
    assert.equal(podNetworkSubnets(cri), undefined);
  });
  await t.step("client cancel → CANCELLED", async () => {
    await using cri = await startInProcessCri();
    await hungAndCancelled(cri, "networks.createBridge", (opts) => sendCidr(cri, "10.244.0.0/24", opts));
  });
});
