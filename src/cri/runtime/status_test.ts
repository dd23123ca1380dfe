import assert from "node:assert/strict";
import type { RuntimeCondition } from "../../gen/runtime/v1/api_pb.ts";
import { type InProcessCri, startInProcessCri } from "../../../tests/harness/in_process_cri.ts";
import { hungAndCancelled, hungPastDeadline } from "../../../tests/harness/handler_fixtures.ts";
import { STATUS_BUDGET_MS } from "./status.ts";

/** The condition of `type` in a Status answer. */
async function condition(cri: InProcessCri, type: string, opts = {}): Promise<RuntimeCondition | undefined> {
  return (await cri.runtime.status({}, opts)).status?.conditions.find((c) => c.type === type);
}

Deno.test("status() reports RuntimeReady while Podman answers and its OCI runtime works, and NetworkReady", async () => {
  await using cri = await startInProcessCri();
  const s = await cri.runtime.status({});
  const types = s.status?.conditions.map((c) => c.type);
  assert.deepEqual(types, ["RuntimeReady", "NetworkReady"]);
  const runtime = s.status?.conditions[0];
  assert.equal(runtime?.status, true);
  assert.equal(runtime?.reason, "");
  // NetworkReady also depends on this host's /dev/net/tun; Podman's side of it is fine here.
  const network = s.status?.conditions[1];
  assert.ok(network?.status === true || network?.reason === "TunUnavailable", JSON.stringify(network));
  assert.deepEqual(s.info, {}, "no verbose info unless asked");
  assert.equal(s.features?.supplementalGroupsPolicy, false);
  assert.equal(s.features?.userNamespacesHostNetwork, false);
});

Deno.test("status() pings Podman on every call but reads its info once (cached)", async () => {
  await using cri = await startInProcessCri();
  for (let i = 0; i < 3; i++) await cri.runtime.status({});
  assert.equal(cri.fake.callsOf("system.ping").length, 3);
  assert.equal(cri.fake.callsOf("system.info").length, 1);
});

Deno.test("status() reports PodmanUnreachable when the ping fails, not an error", async () => {
  await using cri = await startInProcessCri();
  cri.fake.failNext("system.ping", "unreachable", "connect ECONNREFUSED /run/user/1000/podman/podman.sock");
  const s = await cri.runtime.status({});
  const [runtime, network] = s.status?.conditions ?? [];
  assert.equal(runtime?.status, false);
  assert.equal(runtime?.reason, "PodmanUnreachable");
  assert.match(runtime?.message ?? "", /ECONNREFUSED/);
  assert.equal(network?.status, false);
  assert.equal(network?.reason, "PodmanUnreachable");
  assert.equal(cri.fake.callsOf("system.info").length, 0, "no info read of a Podman that does not answer");
  // Podman is back: ready again on the next call.
  assert.equal((await condition(cri, "RuntimeReady"))?.status, true);
});

Deno.test("status() reports PodmanNotResponding within its budget when the ping hangs, and aborts the ping", async () => {
  await using cri = await startInProcessCri();
  cri.fake.hangNext("system.ping");
  const started = performance.now();
  const runtime = await condition(cri, "RuntimeReady", { timeoutMs: 10_000 });
  const ms = performance.now() - started;
  assert.equal(runtime?.status, false);
  assert.equal(runtime?.reason, "PodmanNotResponding");
  assert.ok(ms >= STATUS_BUDGET_MS - 50, `answered after ${ms} ms: before the budget ran out?`);
  assert.ok(ms < 2_500, `answered after ${ms} ms`);
  assert.equal(cri.fake.callsOf("system.ping")[0]?.aborted, true, "the hung ping was aborted");
});

Deno.test("status() reports OCIRuntimeUnusable when Podman's runtime failed its probe, with the fix", async (t) => {
  await t.step("no working alternative: install one", async () => {
    await using cri = await startInProcessCri({ ociRuntimes: { "/usr/bin/runc": { usable: false, reason: "x" } } });
    const runtime = await condition(cri, "RuntimeReady");
    assert.equal(runtime?.status, false);
    assert.equal(runtime?.reason, "OCIRuntimeUnusable");
    assert.match(runtime?.message ?? "", /OCI runtime runc cannot run containers on this host \(x\): install/);
  });
  await t.step("an alternative, embedded Podman: restart cri-podman", async () => {
    await using cri = await startInProcessCri({
      ociRuntimes: { "/usr/bin/runc": { usable: false, reason: "x" }, "/usr/bin/crun": { usable: true } },
    });
    const runtime = await condition(cri, "RuntimeReady");
    assert.equal(runtime?.reason, "OCIRuntimeUnusable");
    assert.match(runtime?.message ?? "", /restart cri-podman so it starts its Podman with --runtime crun/);
  });
  await t.step("an alternative, Podman of the user's own: containers.conf", async () => {
    await using cri = await startInProcessCri({
      podmanEmbedded: false,
      ociRuntimes: { "/usr/bin/runc": { usable: false, reason: "x" }, "/usr/bin/crun": { usable: true } },
    });
    assert.match((await condition(cri, "RuntimeReady"))?.message ?? "", /set runtime = "crun" under \[engine\]/);
  });
  await t.step("a probe that could not tell counts as usable", async () => {
    await using cri = await startInProcessCri({ ociRuntimes: { "/usr/bin/runc": { usable: "unknown", reason: "y" } } });
    assert.equal((await condition(cri, "RuntimeReady"))?.status, true);
  });
});

Deno.test("status() lists the default and every configured runtime handler", async () => {
  await using cri = await startInProcessCri({ configToml: '[runtime_handlers]\nkata = "kata-runtime"\ncrun = "crun"' });
  const s = await cri.runtime.status({});
  assert.deepEqual(s.runtimeHandlers.map((h) => h.name), ["", "kata", "crun"]);
  for (const h of s.runtimeHandlers) {
    assert.equal(h.features?.recursiveReadOnlyMounts, false);
    assert.equal(h.features?.userNamespaces, false);
  }
});

Deno.test("status() with verbose tells Podman's facts, the configuration and the pod CIDR", async () => {
  await using cri = await startInProcessCri();
  await cri.runtime.updateRuntimeConfig({ runtimeConfig: { networkConfig: { podCidr: "10.244.1.0/24" } } });
  const { info } = await cri.runtime.status({ verbose: true });
  const podman = JSON.parse(info["podman"] ?? "{}");
  assert.equal(podman.version, "4.3.1");
  assert.equal(podman.cgroupManager, "cgroupfs");
  assert.equal(podman.ociRuntime, "runc");
  assert.equal(podman.networkBackend, "netavark");
  assert.equal(podman.rootless, true);
  const config = JSON.parse(info["config"] ?? "{}");
  assert.equal(config.pods.network, "cri-podman");
  assert.equal(info["podCidr"], "10.244.1.0/24");
  assert.equal(info["ociRuntimeOverride"], undefined);
  cri.state.ociRuntimeOverride = { from: "crun", to: "runc", reason: "probe failed" };
  const again = await cri.runtime.status({ verbose: true });
  assert.deepEqual(JSON.parse(again.info["ociRuntimeOverride"] ?? "{}"), {
    from: "crun",
    to: "runc",
    reason: "probe failed",
  });
});

Deno.test("status() with verbose while Podman is unreachable says why instead of its facts", async () => {
  await using cri = await startInProcessCri();
  cri.fake.failNext("system.ping", "unreachable", "connection refused");
  const { info } = await cri.runtime.status({ verbose: true });
  assert.match(JSON.parse(info["podman"] ?? "{}").error, /connection refused/);
});

Deno.test("status() when the info read fails keeps RuntimeReady and reports NetworkReady false", async () => {
  await using cri = await startInProcessCri();
  cri.fake.failNext("system.info", "unknown", "info broke");
  const [runtime, network] = (await cri.runtime.status({})).status?.conditions ?? [];
  assert.equal(runtime?.status, true);
  assert.equal(network?.status, false);
  assert.match(network?.message ?? "", /info broke/);
});

Deno.test("status() aborts a hung ping when the client cancels and answers CANCELLED", async () => {
  await using cri = await startInProcessCri();
  await hungAndCancelled(cri, "system.ping", (opts) => cri.runtime.status({}, opts));
});

Deno.test("status() with a deadline shorter than its budget answers DEADLINE_EXCEEDED and aborts the ping", async () => {
  await using cri = await startInProcessCri();
  await hungPastDeadline(cri, "system.ping", (opts) => cri.runtime.status({}, opts));
});
