/**
 * Integration: pod sandboxes on real rootless Podman through the real cri-podman process — lifecycle, pod
 * networking (pod-to-pod by IP, hostPort), host network, restart safety, and bad input leaving nothing behind.
 */
import assert from "node:assert/strict";
import net from "node:net";
import { status as grpcStatus } from "@grpc/grpc-js";
import type { MessageInitShape } from "@bufbuild/protobuf";
import {
  NamespaceMode,
  type PodSandbox,
  type PodSandboxConfigSchema,
  PodSandboxState,
  Protocol,
} from "../src/gen/runtime/v1/api_pb.ts";
import { run } from "./harness/_process.ts";
import type { CallError, CriClient } from "./harness/cri_client.ts";
import { startCriServer } from "./harness/cri_server.ts";
import { httpGetInNetns, runInNetns, serveHttpInNetns } from "./harness/netns.ts";
import { startPodmanService } from "./harness/podman_service.ts";
import { freePort, makeTempDir, processExists, uniqueName, waitFor } from "./harness/temp.ts";

type SandboxConfig = MessageInitShape<typeof PodSandboxConfigSchema>;

function rejectsWith(code: grpcStatus, pattern: RegExp) {
  return (err: CallError) => {
    assert.equal(err.code, code, `expected ${grpcStatus[code]}, got ${grpcStatus[err.code]}: ${err.details}`);
    assert.match(err.details, pattern);
    return true;
  };
}

function podConfig(name: string, logDir: string, extra: Partial<SandboxConfig> = {}): SandboxConfig {
  return {
    metadata: { name, namespace: "cri-test", uid: `${name}-uid`, attempt: 0 },
    hostname: name.slice(0, 60),
    logDirectory: `${logDir}/${name}`,
    labels: { app: name, "io.cri-podman.managed": "not-ours-but-kept" },
    annotations: { "kubernetes.io/config.source": "api", note: "a=b,c" },
    linux: {
      securityContext: {
        namespaceOptions: { network: NamespaceMode.POD, pid: NamespaceMode.CONTAINER, ipc: NamespaceMode.POD },
      },
    },
    ...extra,
  } as SandboxConfig;
}

async function infraPid(cri: CriClient, id: string): Promise<number> {
  const s = await cri.runtime.podSandboxStatus({ podSandboxId: id, verbose: true });
  const pid = JSON.parse(s.info["info"] ?? "{}").pid as number;
  assert.ok(pid > 0, "infra pid");
  return pid;
}

async function podmanPodNames(): Promise<string[]> {
  return (await run("podman", ["pod", "ps", "--format", "{{.Name}}"])).split("\n").filter(Boolean);
}

function ipInSubnet(ip: string, subnet: string): boolean {
  const prefix = subnet.split(".").slice(0, 3).join(".");
  return ip.startsWith(`${prefix}.`);
}

Deno.test(
  "pod sandbox lifecycle: run, status, list, stop, remove — idempotent where kubelet needs it",
  async (t) => {
    await using podman = await startPodmanService();
    await using cri = await startCriServer({ podmanSocket: podman.socketPath });
    await using logs = await makeTempDir("logs");
    const rt = cri.client.runtime;
    const name = uniqueName("life");
    const config = podConfig(name, logs.path, {
      dnsConfig: { servers: ["10.96.0.10"], searches: ["cri-test.svc.cluster.local"], options: ["ndots:5", "edns0"] },
    });
    const before = BigInt(Date.now()) * 1_000_000n;
    let id = "";

    await t.step("RunPodSandbox returns the pod's ID and creates the log directory", async () => {
      id = (await rt.runPodSandbox({ config })).podSandboxId;
      assert.match(id, /^[0-9a-f]{64}$/);
      assert.ok((await Deno.stat(`${logs.path}/${name}`)).isDirectory);
    });

    await t.step(
      "PodSandboxStatus: READY, IP in the subnet, metadata, labels and annotations exactly as given",
      async () => {
        const { status, info, timestamp } = await rt.podSandboxStatus({ podSandboxId: id, verbose: true });
        assert.ok(status);
        assert.equal(status.id, id);
        assert.equal(status.state, PodSandboxState.SANDBOX_READY);
        assert.deepEqual({ ...status.metadata, $typeName: undefined }, { ...config.metadata, $typeName: undefined });
        assert.deepEqual(status.labels, config.labels);
        assert.deepEqual(status.annotations, config.annotations);
        assert.equal(status.runtimeHandler, "");
        assert.ok(ipInSubnet(status.network?.ip ?? "", cri.subnet), `${status.network?.ip} in ${cri.subnet}`);
        assert.ok(status.createdAt >= before - 1_000_000_000n && status.createdAt <= BigInt(Date.now()) * 1_000_000n);
        assert.equal(status.linux?.namespaces?.options?.pid, NamespaceMode.CONTAINER);
        assert.ok(timestamp > 0n);
        const facts = JSON.parse(info["info"] ?? "{}");
        assert.equal(facts.hostname, config.hostname);
        assert.deepEqual([...facts.sharedNamespaces].sort(), ["ipc", "net", "uts"]);
      },
    );

    await t.step("the pod's resolv.conf and hostname are the ones asked for", async () => {
      const podInfo = JSON.parse((await podman.request("GET", `/v4.0.0/libpod/pods/${id}/json`)).body);
      const infra = JSON.parse(
        (await podman.request("GET", `/v4.0.0/libpod/containers/${podInfo.InfraContainerID}/json`)).body,
      );
      const resolv = await Deno.readTextFile(infra.ResolvConfPath);
      assert.match(resolv, /nameserver 10\.96\.0\.10/);
      assert.match(resolv, /search cri-test\.svc\.cluster\.local/);
      assert.match(resolv, /options .*ndots:5/);
      assert.equal((await Deno.readTextFile(infra.HostnamePath)).trim(), config.hostname);
    });

    await t.step(
      "ListPodSandbox lists it and filters by ID prefix, state and labels; foreign pods never show",
      async () => {
        const foreign = uniqueName("foreign");
        await run("podman", ["pod", "create", "--name", foreign, "--label", `app=${name}`]);
        try {
          const all = (await rt.listPodSandbox({})).items;
          assert.ok(all.some((p) => p.id === id));
          assert.ok(!all.some((p) => p.metadata?.name === foreign || p.labels["app"] === name && p.id !== id));
          const mine = (await rt.listPodSandbox({ filter: { id: id.slice(0, 12) } })).items;
          assert.deepEqual(mine.map((p) => p.id), [id]);
          assert.equal(mine[0]!.state, PodSandboxState.SANDBOX_READY);
          assert.deepEqual(mine[0]!.annotations, config.annotations);
          const ready = await rt.listPodSandbox({
            filter: { state: { state: PodSandboxState.SANDBOX_READY }, labelSelector: { app: name } },
          });
          assert.deepEqual(ready.items.map((p) => p.id), [id]);
          const none = await rt.listPodSandbox({ filter: { labelSelector: { app: "nope" } } });
          assert.ok(!none.items.some((p) => p.id === id));
          const streamed =
            (await cri.client.stream<{ podSandboxes: PodSandbox[] }>("runtime", "streamPodSandboxes", {}))
              .flatMap((m) => m.podSandboxes.map((p) => p.id));
          assert.ok(streamed.includes(id));
        } finally {
          await run("podman", ["pod", "rm", "--force", foreign]);
        }
      },
    );

    await t.step("a second RunPodSandbox with the same metadata is refused, naming the existing sandbox", async () => {
      await assert.rejects(rt.runPodSandbox({ config }), rejectsWith(grpcStatus.ALREADY_EXISTS, new RegExp(id)));
    });

    await t.step("UpdatePodSandboxResources is recorded; an unknown sandbox is NOT_FOUND", async () => {
      await rt.updatePodSandboxResources({ podSandboxId: id, resources: { memoryLimitInBytes: 64n << 20n } });
      const facts = JSON.parse((await rt.podSandboxStatus({ podSandboxId: id, verbose: true })).info["info"] ?? "{}");
      assert.equal(facts.resources.resources.memoryLimitInBytes, String(64 << 20));
      await assert.rejects(
        rt.updatePodSandboxResources({ podSandboxId: "f".repeat(64) }),
        rejectsWith(grpcStatus.NOT_FOUND, /not found/),
      );
    });

    await t.step("a new pod CIDR is not applied while pods use the network, and the log says so", async () => {
      await rt.updateRuntimeConfig({ runtimeConfig: { networkConfig: { podCidr: "10.199.0.0/24" } } });
      const netInfo = JSON.parse((await podman.request("GET", `/v4.0.0/libpod/networks/${cri.network}/json`)).body);
      assert.deepEqual(netInfo.subnets.map((s: { subnet: string }) => s.subnet), [cri.subnet]);
      assert.match(cri.log(), /pod CIDR not applied: pods use the network/);
    });

    await t.step("StopPodSandbox: NOTREADY, no IP; stopping again is fine", async () => {
      await rt.stopPodSandbox({ podSandboxId: id });
      const { status } = await rt.podSandboxStatus({ podSandboxId: id });
      assert.equal(status?.state, PodSandboxState.SANDBOX_NOTREADY);
      assert.equal(status?.network?.ip, "");
      await rt.stopPodSandbox({ podSandboxId: id });
      const listed = (await rt.listPodSandbox({ filter: { id } })).items;
      assert.equal(listed[0]?.state, PodSandboxState.SANDBOX_NOTREADY);
    });

    await t.step(
      "RemovePodSandbox removes the pod; again is fine; status is NOT_FOUND; stop of a gone pod is fine",
      async () => {
        await rt.removePodSandbox({ podSandboxId: id });
        await rt.removePodSandbox({ podSandboxId: id });
        await assert.rejects(rt.podSandboxStatus({ podSandboxId: id }), rejectsWith(grpcStatus.NOT_FOUND, /not found/));
        await rt.stopPodSandbox({ podSandboxId: id });
        assert.ok(!(await podmanPodNames()).some((n) => n.includes(name)));
        assert.deepEqual((await rt.listPodSandbox({ filter: { id } })).items, []);
      },
    );
  },
);

Deno.test(
  "pod networking: two pods talk HTTP by pod IP, and a hostPort answers on 127.0.0.1",
  async (t) => {
    await using podman = await startPodmanService();
    await using cri = await startCriServer({ podmanSocket: podman.socketPath });
    await using logs = await makeTempDir("logs");
    const rt = cri.client.runtime;
    const hostPort = freePort();
    const a = (await rt.runPodSandbox({
      config: podConfig(uniqueName("web"), logs.path, {
        portMappings: [{ protocol: Protocol.TCP, containerPort: 8080, hostPort, hostIp: "127.0.0.1" }],
      }),
    })).podSandboxId;
    const b = (await rt.runPodSandbox({ config: podConfig(uniqueName("client"), logs.path) })).podSandboxId;
    try {
      const ipA = (await rt.podSandboxStatus({ podSandboxId: a })).status!.network!.ip;
      const ipB = (await rt.podSandboxStatus({ podSandboxId: b })).status!.network!.ip;
      assert.notEqual(ipA, ipB, "each pod has its own IP");
      await using server = await serveHttpInNetns(await infraPid(cri.client, a), 8080, `hello from ${a}`);

      await t.step("pod B reaches pod A's HTTP server by pod IP", async () => {
        const body = await httpGetInNetns(await infraPid(cri.client, b), `http://${ipA}:8080/`, { timeoutMs: 10_000 });
        assert.equal(body.trim(), `hello from ${a}`);
      });

      await t.step("the hostPort answers on 127.0.0.1 from the host", async () => {
        const res = await fetch(`http://127.0.0.1:${hostPort}/`);
        assert.equal((await res.text()).trim(), `hello from ${a}`);
      });
      void server;
    } finally {
      await rt.removePodSandbox({ podSandboxId: a });
      await rt.removePodSandbox({ podSandboxId: b });
    }
  },
);

Deno.test("host-network and host-PID sandboxes share the node's namespaces", async () => {
  await using podman = await startPodmanService();
  await using cri = await startCriServer({ podmanSocket: podman.socketPath });
  await using logs = await makeTempDir("logs");
  const rt = cri.client.runtime;
  const id = (await rt.runPodSandbox({
    config: podConfig(uniqueName("hostnet"), logs.path, {
      hostname: "",
      linux: {
        securityContext: {
          namespaceOptions: { network: NamespaceMode.NODE, pid: NamespaceMode.NODE, ipc: NamespaceMode.NODE },
        },
      },
    }),
  })).podSandboxId;
  try {
    const { status } = await rt.podSandboxStatus({ podSandboxId: id });
    assert.equal(status?.state, PodSandboxState.SANDBOX_READY);
    assert.equal(status?.network?.ip, "", "host-network pods report no pod IP");
    assert.equal(status?.linux?.namespaces?.options?.network, NamespaceMode.NODE);
    const pid = await infraPid(cri.client, id);
    // The infra lives in the network namespace of the rootless user's processes ("host" for a rootless node).
    const hostNet = await Deno.readLink(`/proc/${Deno.pid}/ns/net`);
    assert.equal(await Deno.readLink(`/proc/${pid}/ns/net`), hostNet);
  } finally {
    await rt.removePodSandbox({ podSandboxId: id });
  }
});

Deno.test(
  "restart safety: after SIGKILL, a new cri-podman lists every sandbox exactly as before",
  async () => {
    await using podman = await startPodmanService();
    await using logs = await makeTempDir("logs");
    const first = await startCriServer({ podmanSocket: podman.socketPath });
    const ids: string[] = [];
    try {
      for (let i = 0; i < 2; i++) {
        ids.push(
          (await first.client.runtime.runPodSandbox({ config: podConfig(uniqueName("keep"), logs.path) }))
            .podSandboxId,
        );
      }
      await first.client.runtime.stopPodSandbox({ podSandboxId: ids[1]! });
      const mine = (items: PodSandbox[]) =>
        items.filter((p) => ids.includes(p.id)).sort((x, y) => x.id < y.id ? -1 : 1);
      const before = mine((await first.client.runtime.listPodSandbox({})).items);
      assert.equal(before.length, 2);

      first.process.kill("SIGKILL");
      await first.process.exited;
      assert.ok(!processExists(first.pid));

      await using second = await startCriServer({
        podmanSocket: podman.socketPath,
        env: { CRI_PODMAN_PODS_NETWORK: first.network, CRI_PODMAN_PODS_DEFAULT_SUBNET: first.subnet },
      });
      const after = mine((await second.client.runtime.listPodSandbox({})).items);
      assert.deepEqual(after, before);
      assert.deepEqual(after.map((p) => p.state), before.map((p) => p.state));
      for (const id of ids) await second.client.runtime.removePodSandbox({ podSandboxId: id });
    } finally {
      await first[Symbol.asyncDispose]();
    }
  },
);

Deno.test("bad sandbox input: a clear error naming the field, and no pod left behind", async (t) => {
  await using podman = await startPodmanService();
  await using cri = await startCriServer({ podmanSocket: podman.socketPath });
  await using logs = await makeTempDir("logs");
  const rt = cri.client.runtime;
  const cases: [string, (name: string) => SandboxConfig | undefined, RegExp, string?][] = [
    ["no config", () => undefined, /config must be set/],
    ["no metadata", (n) => {
      const { metadata: _, ...rest } = podConfig(n, logs.path);
      return rest;
    }, /config\.metadata must be set/],
    [
      "an empty name",
      (n) => podConfig(n, logs.path, { metadata: { name: "", namespace: "x", uid: n } }),
      /metadata\.name/,
    ],
    [
      "an empty namespace",
      (n) => podConfig(n, logs.path, { metadata: { name: n, namespace: "", uid: n } }),
      /metadata\.namespace/,
    ],
    [
      "an empty uid",
      (n) => podConfig(n, logs.path, { metadata: { name: n, namespace: "x", uid: "" } }),
      /metadata\.uid/,
    ],
    [
      "an SCTP port",
      (n) => podConfig(n, logs.path, { portMappings: [{ protocol: Protocol.SCTP, containerPort: 9, hostPort: 0 }] }),
      /port_mappings\[0\]\.protocol SCTP is not supported/,
    ],
    [
      "an invalid DNS option",
      (n) => podConfig(n, logs.path, { dnsConfig: { servers: [], searches: [], options: ["bad option!"] } }),
      /dns_config\.options\[0\]/,
    ],
    [
      "an invalid DNS server",
      (n) => podConfig(n, logs.path, { dnsConfig: { servers: ["not-an-ip"], searches: [], options: [] } }),
      /dns_config\.servers\[0\]/,
    ],
    [
      "an unknown runtime handler",
      (n) => podConfig(n, logs.path),
      /runtime_handler "no-such-handler"/,
      "no-such-handler",
    ],
    [
      "a log directory that cannot be created",
      (n) => podConfig(n, logs.path, { logDirectory: `/proc/cri-podman-${n}` }),
      /config\.log_directory/,
    ],
    [
      // Not cleaned but refused: accepted, this created a directory somewhere else than it seems to name.
      "a log directory with '..' segments",
      (n) => podConfig(n, logs.path, { logDirectory: `${logs.path}/${n}/a/../../escape-${n}` }),
      /config\.log_directory ".*" must not contain "\." or "\.\." segments/,
    ],
  ];
  for (const [what, make, pattern, handler] of cases) {
    await t.step(`${what} → INVALID_ARGUMENT`, async () => {
      const name = uniqueName("bad");
      const config = make(name);
      await assert.rejects(
        rt.runPodSandbox({ ...(config ? { config } : {}), runtimeHandler: handler ?? "" }),
        rejectsWith(grpcStatus.INVALID_ARGUMENT, pattern),
      );
      assert.ok(!(await podmanPodNames()).some((n) => n.includes(name)), "no pod left");
      await assert.rejects(Deno.stat(`${logs.path}/escape-${name}`), Deno.errors.NotFound, "no directory made");
    });
  }

  await t.step(
    "a hostPort already taken → error naming port_mappings, and no pod or infra container left",
    async () => {
      const blocker = net.createServer().listen(0, "127.0.0.1");
      await new Promise((resolve) => blocker.once("listening", resolve));
      const port = (blocker.address() as net.AddressInfo).port;
      const name = uniqueName("taken");
      try {
        await assert.rejects(
          rt.runPodSandbox({
            config: podConfig(name, logs.path, {
              portMappings: [{ protocol: Protocol.TCP, containerPort: 80, hostPort: port, hostIp: "127.0.0.1" }],
            }),
          }),
          rejectsWith(grpcStatus.INVALID_ARGUMENT, new RegExp(`port_mappings.*${port}`)),
        );
      } finally {
        blocker.close();
      }
      assert.ok(!(await podmanPodNames()).some((n) => n.includes(name)), "no pod left");
      const containers = await run("podman", ["ps", "-a", "--format", "{{.PodName}}"]);
      assert.ok(!containers.includes(name), "no infra container left");
    },
  );
});

Deno.test("runtime handlers, sysctls and recorded cgroup facts; the infra image is pinned", async (t) => {
  await using podman = await startPodmanService();
  await using cri = await startCriServer({
    podmanSocket: podman.socketPath,
    env: { CRI_PODMAN_RUNTIME_HANDLERS: "runc=runc" },
  });
  await using logs = await makeTempDir("logs");
  const rt = cri.client.runtime;
  const config = podConfig(uniqueName("tuned"), logs.path, {
    linux: {
      cgroupParent: "/kubepods/burstable/podtuned",
      sysctls: { "net.ipv4.ip_unprivileged_port_start": "0" },
      resources: { cpuShares: 512n, memoryLimitInBytes: 128n << 20n },
      securityContext: {
        namespaceOptions: { network: NamespaceMode.POD, pid: NamespaceMode.POD, ipc: NamespaceMode.POD },
      },
    },
  });
  const id = (await rt.runPodSandbox({ config, runtimeHandler: "runc" })).podSandboxId;
  try {
    await t.step("Status lists the configured handlers; the sandbox reports its handler", async () => {
      assert.deepEqual((await rt.status({})).runtimeHandlers.map((h) => h.name), ["", "runc"]);
      assert.equal((await rt.podSandboxStatus({ podSandboxId: id })).status?.runtimeHandler, "runc");
      assert.equal((await rt.listPodSandbox({ filter: { id } })).items[0]?.runtimeHandler, "runc");
    });
    await t.step("a namespaced sysctl is set in the pod's network namespace", async () => {
      const out = await runInNetns(await infraPid(cri.client, id), [
        "cat",
        "/proc/sys/net/ipv4/ip_unprivileged_port_start",
      ]);
      assert.equal(out.stdout.trim(), "0");
    });
    await t.step("pid POD shares the infra's PID namespace; cgroup parent and resources are recorded", async () => {
      const facts = JSON.parse((await rt.podSandboxStatus({ podSandboxId: id, verbose: true })).info["info"] ?? "{}");
      assert.ok(facts.sharedNamespaces.includes("pid"));
      assert.equal(facts.cgroupParent, "/kubepods/burstable/podtuned");
      assert.equal(facts.podResources.cpuShares, "512");
    });
    await t.step("ListImages marks the infra (pause) image pinned", async () => {
      const images = (await cri.client.image.listImages({})).images;
      const pause = images.filter((i) => i.repoTags.some((tag) => tag.startsWith("localhost/podman-pause:")));
      assert.ok(pause.length > 0, "pause image listed");
      assert.ok(pause.every((i) => i.pinned));
      assert.ok(images.filter((i) => !pause.includes(i)).every((i) => !i.pinned));
    });
  } finally {
    await rt.removePodSandbox({ podSandboxId: id });
  }
});

Deno.test("ListPodSandbox sees an infra container killed behind our back within a second", async () => {
  await using podman = await startPodmanService();
  await using cri = await startCriServer({ podmanSocket: podman.socketPath });
  await using logs = await makeTempDir("logs");
  const rt = cri.client.runtime;
  const id = (await rt.runPodSandbox({ config: podConfig(uniqueName("killed"), logs.path) })).podSandboxId;
  try {
    const infra = JSON.parse((await rt.podSandboxStatus({ podSandboxId: id, verbose: true })).info["info"] ?? "{}")
      .infraContainerId as string;
    assert.equal((await rt.listPodSandbox({ filter: { id } })).items[0]?.state, PodSandboxState.SANDBOX_READY);
    // Podman's "died" event for a pod's container carries no podId; the "cleanup" after it does.
    await run("podman", ["kill", infra]);
    await waitFor(
      async () => (await rt.listPodSandbox({ filter: { id } })).items[0]?.state === PodSandboxState.SANDBOX_NOTREADY,
      {
        timeoutMs: 1_000,
        intervalMs: 10,
        what: "ListPodSandbox to show the sandbox NOTREADY",
      },
    );
  } finally {
    await rt.removePodSandbox({ podSandboxId: id });
  }
});
