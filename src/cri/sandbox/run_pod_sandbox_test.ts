import assert from "node:assert/strict";
import { status } from "@grpc/grpc-js";
import { NamespaceMode, PodSandboxState, Protocol } from "../../gen/runtime/v1/api_pb.ts";
import type { PodmanFailure } from "../../podman/errors.ts";
import type { LibpodPodSpec } from "../../podman/types.ts";
import { netnsKeeperName } from "../../translate/sandbox.ts";
const NETNS_KEEPER_NAME = netnsKeeperName("cri-podman");
import { type InProcessCri, startInProcessCri } from "../../../tests/harness/in_process_cri.ts";
import {
  type CallWith,
  holdFeedReads,
  hungAndCancelled,
  hungPastDeadline,
  rejectsWith,
  sandboxConfig,
} from "../../../tests/harness/handler_fixtures.ts";

/** Accepts the pods.create call of the sandbox named `name` (not the netns keeper's). */
const createOf = (name: string) => ([spec]: unknown[]) => (spec as LibpodPodSpec).name.includes(`_${name}_`);

/** Accepts a pods.start call of a sandbox (the netns keeper is started by name). */
const sandboxStart = ([id]: unknown[]) => id !== NETNS_KEEPER_NAME;

/** RunPodSandbox of a sandbox named `name`, to be run with the per-call options it is given. */
const runCall = (cri: InProcessCri, name: string): CallWith => (opts) =>
  cri.runtime.runPodSandbox({ config: sandboxConfig(name) }, opts);

/** The names of the pods the fake holds, sorted. */
const podNames = (cri: { fake: { pods_: Map<string, { name: string }> } }) =>
  [...cri.fake.pods_.values()].map((p) => p.name).sort();

Deno.test("runPodSandbox() creates and starts a pod whose infra container runs", async () => {
  await using cri = await startInProcessCri();
  const { podSandboxId } = await cri.runtime.runPodSandbox({ config: sandboxConfig("a") });
  const pod = cri.fake.pods_.get(podSandboxId)!;
  assert.equal(cri.fake.containers_.get(pod.infraId)?.status, "running");
  const s = await cri.runtime.podSandboxStatus({ podSandboxId });
  assert.equal(s.status?.state, PodSandboxState.SANDBOX_READY);
  assert.deepEqual((await cri.runtime.listPodSandbox({})).items.map((i) => i.id), [podSandboxId]);
});

Deno.test("runPodSandbox() refuses a retry with ALREADY_EXISTS naming the pod, and keeps one pod", async () => {
  await using cri = await startInProcessCri();
  const { podSandboxId } = await cri.runtime.runPodSandbox({ config: sandboxConfig("b") });
  await assert.rejects(
    cri.runtime.runPodSandbox({ config: sandboxConfig("b") }),
    rejectsWith(status.ALREADY_EXISTS, new RegExp(podSandboxId)),
  );
  assert.equal(cri.fake.pods_.size, 2, "the sandbox and the netns keeper");
});

Deno.test("runPodSandbox() removes the pod again when it cannot start, naming port_mappings for a taken port", async () => {
  await using cri = await startInProcessCri();
  cri.fake.failNext(
    "pods.start",
    "address-in-use",
    "rootlessport listen tcp 0.0.0.0:8080: bind: address already in use",
    ([id]) => id !== NETNS_KEEPER_NAME,
  );
  await assert.rejects(
    cri.runtime.runPodSandbox({
      config: {
        ...sandboxConfig("c"),
        portMappings: [{ containerPort: 80, hostPort: 8080 }],
        linux: { securityContext: { namespaceOptions: { network: NamespaceMode.POD } } },
      },
    }),
    rejectsWith(status.INVALID_ARGUMENT, /config\.port_mappings: a host port is already taken \(8080\)/),
  );
  assert.deepEqual([...cri.fake.pods_.values()].map((p) => p.name), [NETNS_KEEPER_NAME]);
});

Deno.test("runPodSandbox() passes its deadline to Podman: a hung create is aborted and answers DEADLINE_EXCEEDED", async () => {
  await using cri = await startInProcessCri();
  await hungPastDeadline(cri, "pods.create", runCall(cri, "d"), createOf("d"));
});

Deno.test("runPodSandbox() stores the CRI config in the pod: List and Status show metadata, labels, annotations, handler", async () => {
  await using cri = await startInProcessCri({ configToml: '[runtime_handlers]\nkata = "kata-runtime"' });
  const { podSandboxId } = await cri.runtime.runPodSandbox({
    config: sandboxConfig("meta", { labels: { app: "web" }, annotations: { note: "x" }, hostname: "meta-host" }),
    runtimeHandler: "kata",
  });
  const [item] = (await cri.runtime.listPodSandbox({})).items;
  assert.equal(item?.id, podSandboxId);
  assert.equal(item?.metadata?.name, "meta");
  assert.deepEqual(item?.labels, { app: "web" });
  assert.deepEqual(item?.annotations, { note: "x" });
  assert.equal(item?.runtimeHandler, "kata");
  const s = (await cri.runtime.podSandboxStatus({ podSandboxId })).status;
  assert.equal(s?.runtimeHandler, "kata");
  assert.equal(cri.fake.pods_.get(podSandboxId)?.hostname, "meta-host");
});

Deno.test("runPodSandbox() refuses an invalid request with INVALID_ARGUMENT naming the field, before any Podman call", async (t) => {
  await using cri = await startInProcessCri();
  const cases: Array<[string, Record<string, unknown>, RegExp]> = [
    ["no config", {}, /^config must be set/],
    ["no metadata", { config: { hostname: "x" } }, /config\.metadata must be set/],
    ["empty name", { config: sandboxConfig("") }, /config\.metadata\.name must not be empty/],
    [
      "empty namespace",
      { config: { metadata: { name: "n", namespace: "", uid: "u" } } },
      /config\.metadata\.namespace must not be empty/,
    ],
    ["bad uid", { config: { metadata: { name: "n", namespace: "d", uid: "a_b" } } }, /config\.metadata\.uid "a_b"/],
    [
      "relative log directory",
      { config: sandboxConfig("n", { logDirectory: "logs" }) },
      /config\.log_directory "logs"/,
    ],
    [
      "log directory with ..",
      { config: sandboxConfig("n", { logDirectory: "/a/../b" }) },
      /config\.log_directory "\/a\/\.\.\/b"/,
    ],
    ["bad hostname", { config: sandboxConfig("n", { hostname: "Bad_Host" }) }, /config\.hostname "Bad_Host"/],
    [
      "SCTP port",
      { config: sandboxConfig("n", { portMappings: [{ containerPort: 80, protocol: Protocol.SCTP }] }) },
      /config\.port_mappings\[0\]\.protocol SCTP/,
    ],
    [
      "host port out of range",
      { config: sandboxConfig("n", { portMappings: [{ containerPort: 80, hostPort: 70000 }] }) },
      /config\.port_mappings\[0\]\.host_port 70000/,
    ],
    [
      "DNS server not an IP",
      { config: sandboxConfig("n", { dnsConfig: { servers: ["dns.example"] } }) },
      /config\.dns_config\.servers\[0\]/,
    ],
    [
      "sysctl name",
      { config: sandboxConfig("n", { linux: { sysctls: { "not a sysctl": "1" } } }) },
      /config\.linux\.sysctls key "not a sysctl"/,
    ],
    [
      "network namespace CONTAINER",
      {
        config: sandboxConfig("n", {
          linux: { securityContext: { namespaceOptions: { network: NamespaceMode.CONTAINER } } },
        }),
      },
      /config\.linux\.security_context\.namespace_options\.network/,
    ],
    ["unknown runtime handler", { config: sandboxConfig("n"), runtimeHandler: "gvisor" }, /runtime_handler "gvisor"/],
  ];
  for (const [what, req, pattern] of cases) {
    await t.step(what, async () => {
      const before = cri.fake.calls.length;
      await assert.rejects(cri.runtime.runPodSandbox(req), rejectsWith(status.INVALID_ARGUMENT, pattern));
      assert.equal(cri.fake.calls.length, before, "no Podman call was made");
    });
  }
});

Deno.test("runPodSandbox() creates a missing log directory, and names config.log_directory when it cannot", async () => {
  await using cri = await startInProcessCri();
  const dir = await Deno.makeTempDir({ prefix: "cri-podman-run-pod-sandbox-" });
  try {
    const logDirectory = `${dir}/pods/ns_a_uid`;
    await cri.runtime.runPodSandbox({ config: sandboxConfig("logs", { logDirectory }) });
    assert.equal((await Deno.stat(logDirectory)).isDirectory, true);
    await Deno.writeTextFile(`${dir}/file`, "");
    await assert.rejects(
      cri.runtime.runPodSandbox({ config: sandboxConfig("nologs", { logDirectory: `${dir}/file/pods` }) }),
      rejectsWith(status.INVALID_ARGUMENT, /config\.log_directory ".*\/file\/pods" cannot be created/),
    );
    assert.ok(!podNames(cri).some((n) => n.includes("_nologs_")), "no pod for the refused sandbox");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("runPodSandbox() retried after success answers ALREADY_EXISTS and leaves the first sandbox running", async () => {
  await using cri = await startInProcessCri();
  const { podSandboxId } = await cri.runtime.runPodSandbox({ config: sandboxConfig("again") });
  await cri.runtime.stopPodSandbox({ podSandboxId });
  await assert.rejects(
    cri.runtime.runPodSandbox({ config: sandboxConfig("again") }),
    rejectsWith(status.ALREADY_EXISTS, new RegExp(`"${podSandboxId}" \\(k8s_again_default_again-uid_0\\)`)),
  );
  assert.ok(cri.fake.pods_.has(podSandboxId), "the existing pod is kept");
  const next = await cri.runtime.runPodSandbox({
    config: sandboxConfig("again", { metadata: { attempt: 1 } }),
  });
  assert.notEqual(next.podSandboxId, podSandboxId, "a new attempt is a new sandbox");
});

Deno.test("runPodSandbox() maps a failed pod start to the client's code and removes the pod", async (t) => {
  const cases: Array<[PodmanFailure, string, status, RegExp]> = [
    [
      "address-in-use",
      "bind: address already in use",
      status.INVALID_ARGUMENT,
      /config\.port_mappings: .*taken \(8080\)/,
    ],
    [
      "port-privileged",
      "bind: permission denied",
      status.INVALID_ARGUMENT,
      /config\.port_mappings: .*ip_unprivileged_port_start \(8080\)/,
    ],
    [
      "sysctl-refused",
      "sysctl net.core.somaxconn: permission denied",
      status.INVALID_ARGUMENT,
      /config\.linux\.sysctls/,
    ],
    ["no-mqueue", "/dev/mqueue missing", status.FAILED_PRECONDITION, /mqueue/],
    ["unreachable", "connection refused", status.UNAVAILABLE, /connection refused/],
    ["timeout", "deadline exceeded", status.DEADLINE_EXCEEDED, /deadline exceeded/],
    ["unknown", "something odd", status.UNKNOWN, /something odd/],
  ];
  for (const [reason, message, code, pattern] of cases) {
    await t.step(`${reason} → ${status[code]}`, async () => {
      await using cri = await startInProcessCri();
      cri.fake.failNext("pods.start", reason, message, sandboxStart);
      await assert.rejects(
        cri.runtime.runPodSandbox({
          config: sandboxConfig("s", {
            portMappings: [{ containerPort: 80, hostPort: 8080 }],
            linux: { sysctls: { "net.core.somaxconn": "1024" } },
          }),
        }),
        rejectsWith(code, pattern),
      );
      assert.deepEqual(podNames(cri).filter((n) => n !== NETNS_KEEPER_NAME), [], "only the netns keeper is left");
      assert.deepEqual((await cri.runtime.listPodSandbox({})).items, []);
    });
  }
});

Deno.test("runPodSandbox() maps a failed pod create to the client's code and leaves no pod", async (t) => {
  const cases: Array<[PodmanFailure, status]> = [
    ["unreachable", status.UNAVAILABLE],
    ["bad-request", status.INVALID_ARGUMENT],
    ["not-found", status.NOT_FOUND],
    ["unknown", status.UNKNOWN],
  ];
  for (const [reason, code] of cases) {
    await t.step(`${reason} → ${status[code]}`, async () => {
      await using cri = await startInProcessCri();
      cri.fake.failNext("pods.create", reason, `fake ${reason}`, createOf("cr"));
      await assert.rejects(cri.runtime.runPodSandbox({ config: sandboxConfig("cr") }), rejectsWith(code, /fake/));
      assert.deepEqual(podNames(cri).filter((n) => n !== NETNS_KEEPER_NAME), []);
    });
  }
});

Deno.test("runPodSandbox() answers FAILED_PRECONDITION naming pods.default_subnet when the subnet is taken, and creates no pod", async () => {
  await using cri = await startInProcessCri();
  cri.fake.failNext("networks.createBridge", "subnet-overlap", "subnet 10.85.0.0/16 is already used on the host");
  await assert.rejects(
    cri.runtime.runPodSandbox({ config: sandboxConfig("net") }),
    rejectsWith(status.FAILED_PRECONDITION, /pods\.default_subnet/),
  );
  assert.deepEqual(podNames(cri).filter((n) => n !== NETNS_KEEPER_NAME), []);
  assert.equal(cri.fake.networks_.has("cri-podman"), false);
  // The next call tries again and succeeds.
  await cri.runtime.runPodSandbox({ config: sandboxConfig("net") });
  assert.deepEqual(cri.fake.networks_.get("cri-podman")?.subnets, [{ subnet: "10.85.0.0/16" }]);
});

Deno.test("runPodSandbox() maps a failed network inspect or creation to the client's code", async (t) => {
  const cases: Array<[string, PodmanFailure, status]> = [
    ["networks.inspect", "unreachable", status.UNAVAILABLE],
    ["networks.createBridge", "unknown", status.UNKNOWN],
    ["networks.createBridge", "bad-request", status.INVALID_ARGUMENT],
  ];
  for (const [op, reason, code] of cases) {
    await t.step(`${op} ${reason} → ${status[code]}`, async () => {
      await using cri = await startInProcessCri();
      cri.fake.failNext(op, reason);
      await assert.rejects(
        cri.runtime.runPodSandbox({ config: sandboxConfig("n") }),
        rejectsWith(code, /fake failure/),
      );
      assert.deepEqual(podNames(cri).filter((n) => n !== NETNS_KEEPER_NAME), []);
    });
  }
});

Deno.test("runPodSandbox() with the host's network needs no pod network and no netns keeper", async () => {
  await using cri = await startInProcessCri();
  const { podSandboxId } = await cri.runtime.runPodSandbox({
    config: sandboxConfig("host", {
      linux: { securityContext: { namespaceOptions: { network: NamespaceMode.NODE } } },
    }),
  });
  assert.deepEqual(podNames(cri), ["k8s_host_default_host-uid_0"]);
  assert.equal(cri.fake.networks_.size, 0);
  assert.deepEqual(cri.fake.pods_.get(podSandboxId)?.spec.netns, { nsmode: "host" });
  const s = (await cri.runtime.podSandboxStatus({ podSandboxId })).status;
  assert.equal(s?.state, PodSandboxState.SANDBOX_READY);
  assert.equal(s?.network?.ip, "");
});

Deno.test("runPodSandbox() keeps working when the netns keeper cannot start", async () => {
  await using cri = await startInProcessCri();
  cri.fake.failNext(
    "pods.create",
    "unknown",
    "no pause image",
    ([spec]) => (spec as LibpodPodSpec).name === NETNS_KEEPER_NAME,
  );
  const { podSandboxId } = await cri.runtime.runPodSandbox({ config: sandboxConfig("nokeeper") });
  assert.deepEqual(podNames(cri), ["k8s_nokeeper_default_nokeeper-uid_0"]);
  assert.equal((await cri.runtime.podSandboxStatus({ podSandboxId })).status?.state, PodSandboxState.SANDBOX_READY);
  assert.ok(cri.logs.some((l) => l.includes("cannot start the netns keeper pod")));
  // The next sandbox creates it.
  await cri.runtime.runPodSandbox({ config: sandboxConfig("keeper") });
  assert.ok(podNames(cri).includes(NETNS_KEEPER_NAME));
});

Deno.test("runPodSandbox() aborts a hung start on a client cancel, answers CANCELLED and removes the pod", async () => {
  await using cri = await startInProcessCri();
  await hungAndCancelled(cri, "pods.start", runCall(cri, "cancel"), sandboxStart);
  assert.deepEqual(podNames(cri).filter((n) => n !== NETNS_KEEPER_NAME), [], "the half-made pod is removed");
});

Deno.test("runPodSandbox() aborts a hung create on a client cancel and answers CANCELLED", async () => {
  await using cri = await startInProcessCri();
  await hungAndCancelled(cri, "pods.create", runCall(cri, "cc"), createOf("cc"));
  assert.deepEqual(podNames(cri).filter((n) => n !== NETNS_KEEPER_NAME), []);
});

Deno.test("runPodSandbox() on a deadline during the start removes the pod again", async () => {
  await using cri = await startInProcessCri();
  await hungPastDeadline(cri, "pods.start", runCall(cri, "late"), sandboxStart);
  assert.deepEqual(podNames(cri).filter((n) => n !== NETNS_KEEPER_NAME), []);
});

Deno.test("runPodSandbox() that fails after the start (reading the new pod back) removes the pod again", async () => {
  // No event feed: the handler's own read of the new pod is then the only inspect by ID.
  await using cri = await startInProcessCri({ events: false });
  const byId = ([id]: unknown[]) => /^[0-9a-f]{64}$/.test(String(id));
  cri.fake.failNext("pods.inspect", "unreachable", "connection reset", byId);
  await assert.rejects(
    cri.runtime.runPodSandbox({ config: sandboxConfig("readback") }),
    rejectsWith(status.UNAVAILABLE, /connection reset/),
  );
  assert.deepEqual(
    podNames(cri).filter((n) => n !== NETNS_KEEPER_NAME),
    [],
    "no running pod the client was told failed",
  );
});

Deno.test("runPodSandbox() keeps the original error when removing the half-made pod fails too", async () => {
  await using cri = await startInProcessCri();
  cri.fake.failNext("pods.start", "unknown", "start broke", sandboxStart);
  cri.fake.failNext("pods.remove", "unreachable", "remove broke");
  await assert.rejects(
    cri.runtime.runPodSandbox({ config: sandboxConfig("twice") }),
    rejectsWith(status.UNKNOWN, /start broke/),
  );
  assert.ok(cri.logs.some((l) => l.includes("cannot remove a pod that failed to start") && l.includes("remove broke")));
});

Deno.test("runPodSandbox() creates the pod network once for concurrent sandboxes", async () => {
  await using cri = await startInProcessCri();
  const ids = await Promise.all(
    ["p1", "p2", "p3"].map((n) => cri.runtime.runPodSandbox({ config: sandboxConfig(n) }).then((r) => r.podSandboxId)),
  );
  assert.equal(new Set(ids).size, 3);
  assert.equal(cri.fake.callsOf("networks.createBridge").length, 1);
  assert.equal(podNames(cri).filter((n) => n === NETNS_KEEPER_NAME).length, 1);
  assert.equal((await cri.runtime.listPodSandbox({})).items.length, 3);
});

Deno.test("runPodSandbox() that failed never shows its pod in List, even when an event read of it lands late", async () => {
  await using cri = await startInProcessCri();
  const held = holdFeedReads(cri.fake);
  cri.fake.failNext("pods.start", "unknown", "start broke", sandboxStart);
  await assert.rejects(
    cri.runtime.runPodSandbox({ config: sandboxConfig("ghost") }),
    rejectsWith(status.UNKNOWN, /broke/),
  );
  const id = cri.fake.callsOf("pods.start").find((c) => sandboxStart(c.args))?.args[0];
  // The feed read the pod when it was created, before the handler removed it; that answer lands now.
  const early = held.findIndex((h) => h.id === id);
  assert.ok(early >= 0, "the feed read the new pod");
  held.splice(early, 1)[0]!.release();
  await cri.settle();
  assert.deepEqual((await cri.runtime.listPodSandbox({})).items, []);
  for (const h of held) h.release();
});

Deno.test("runPodSandbox() replaces a netns keeper pod that exists but does not start", async () => {
  await using cri = await startInProcessCri();
  await cri.runtime.runPodSandbox({ config: sandboxConfig("first") });
  const keeper = [...cri.fake.pods_.values()].find((p) => p.name === NETNS_KEEPER_NAME)!;
  // What `podman system migrate` leaves of a keeper whose processes were killed: a pod that refuses to start.
  cri.fake.containers_.get(keeper.infraId)!.status = "stopping";
  cri.fake.failNext("pods.start", "unknown", "cannot start a container that has stopped", ([id]) => id === keeper.name);
  await cri.runtime.runPodSandbox({ config: sandboxConfig("second") });
  const replaced = [...cri.fake.pods_.values()].find((p) => p.name === NETNS_KEEPER_NAME)!;
  assert.notEqual(replaced.id, keeper.id, "a new keeper pod");
  assert.equal(cri.fake.containers_.get(replaced.infraId)?.status, "running");
  assert.ok(cri.logs.some((l) => l.includes("replacing a netns keeper pod that does not start")));
});
