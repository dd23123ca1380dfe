import assert from "node:assert/strict";
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import {
  NamespaceMode,
  type NamespaceOptionSchema,
  type PodSandbox,
  type PodSandboxConfig,
  PodSandboxConfigSchema,
  PodSandboxFilterSchema,
  PodSandboxState,
  Protocol,
  SecurityProfile_ProfileType,
} from "../gen/runtime/v1/api_pb.ts";
import { CriError } from "../errors.ts";
import type {
  LibpodContainerInspect,
  LibpodPodInspect,
  LibpodPodListItem,
  LibpodPortMapping,
} from "../podman/types.ts";
import { KIND, MANAGED, RUNTIME_HANDLER, SANDBOX_CONFIG } from "./labels.ts";
import {
  type CriPodSandbox,
  matchesSandboxFilter,
  readStoredSandbox,
  sandboxName,
  type SandboxSpecOptions,
  type StoredSandbox,
  toCriSandboxFromList,
  toCriSandboxStatus,
  toLibpodPodSpec,
  validateSandboxConfig,
} from "./sandbox.ts";

/** The init object form (not the message form) of a PodSandboxConfig, so that two of them can be spread. */
type ConfigInit = Exclude<MessageInitShape<typeof PodSandboxConfigSchema>, PodSandboxConfig>;
type NamespaceInit = MessageInitShape<typeof NamespaceOptionSchema>;

const NETWORK = "cri-podman";
const OPTS: SandboxSpecOptions = { networkName: NETWORK, infraImage: "" };
const UID = "0b5c3f6e-7d4a-4c1b-9e2f-8a1d2c3b4e5f";
const METADATA = { name: "web-0", namespace: "default", uid: UID, attempt: 0 };

/** What kubelet sends for an ordinary bridged pod (pid CONTAINER: no shared process namespace). */
const BASE: ConfigInit = {
  metadata: METADATA,
  hostname: "web-0",
  logDirectory: `/var/log/pods/default_web-0_${UID}`,
  dnsConfig: {
    servers: ["10.96.0.10"],
    searches: ["default.svc.cluster.local", "svc.cluster.local", "cluster.local"],
    options: ["ndots:5"],
  },
  portMappings: [{ protocol: Protocol.TCP, containerPort: 80, hostPort: 8080 }],
  labels: { app: "web", "io.kubernetes.pod.name": "web-0" },
  annotations: { "kubernetes.io/config.source": "api" },
  linux: {
    cgroupParent: "/kubepods/besteffort/pod0b5c3f6e",
    securityContext: {
      namespaceOptions: { network: NamespaceMode.POD, pid: NamespaceMode.CONTAINER, ipc: NamespaceMode.POD },
    },
  },
};

/** A PodSandboxConfig message: {@link BASE} with top-level fields replaced by `patch`. */
function sandboxConfig(patch: ConfigInit = {}): PodSandboxConfig {
  return create(PodSandboxConfigSchema, { ...BASE, ...patch });
}

/** The `linux` patch that sets only the namespace options. */
function namespaces(ns: NamespaceInit): ConfigInit {
  return { linux: { securityContext: { namespaceOptions: ns } } };
}

/** The libpod pod spec of {@link BASE} with `patch`, through validation as handlers do it. */
function podSpec(patch: ConfigInit = {}, opts: SandboxSpecOptions = OPTS, runtimeHandler = "") {
  return toLibpodPodSpec(validateSandboxConfig(sandboxConfig(patch)), runtimeHandler, opts);
}

/** Asserts that `fn` throws an InvalidArgument CriError whose message contains every string of `parts`. */
function assertInvalid(fn: () => unknown, ...parts: string[]): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof CriError, `expected a CriError, got ${String(err)}`);
    assert.equal(err.code, "InvalidArgument");
    for (const part of parts) assert.ok(err.message.includes(part), `"${err.message}" should mention "${part}"`);
    return true;
  });
}

const NS_FIELD = "config.linux.security_context.namespace_options";

Deno.test("validateSandboxConfig()", async (t) => {
  await t.step("validateSandboxConfig() rejects a missing config naming config", () => {
    assertInvalid(() => validateSandboxConfig(undefined), "config");
  });

  await t.step("validateSandboxConfig() rejects a config without metadata naming config.metadata", () => {
    const config = sandboxConfig();
    delete config.metadata;
    assertInvalid(() => validateSandboxConfig(config), "config.metadata");
  });

  const rejected: [string, ConfigInit, string[]][] = [
    ["an empty metadata.name", { metadata: { ...METADATA, name: "" } }, ["config.metadata.name", "empty"]],
    ["a metadata.name with '_'", { metadata: { ...METADATA, name: "web_0" } }, ["config.metadata.name", "web_0"]],
    ["a metadata.name with '/'", { metadata: { ...METADATA, name: "web/0" } }, ["config.metadata.name", "web/0"]],
    ["a metadata.name starting with '-'", { metadata: { ...METADATA, name: "-web" } }, ["config.metadata.name"]],
    ["a metadata.name of 254 characters", { metadata: { ...METADATA, name: "a".repeat(254) } }, [
      "config.metadata.name",
    ]],
    ["an empty metadata.namespace", { metadata: { ...METADATA, namespace: "" } }, [
      "config.metadata.namespace",
      "empty",
    ]],
    ["a metadata.namespace with '_'", { metadata: { ...METADATA, namespace: "kube_system" } }, [
      "config.metadata.namespace",
      "kube_system",
    ]],
    ["a metadata.namespace with '/'", { metadata: { ...METADATA, namespace: "kube/system" } }, [
      "config.metadata.namespace",
    ]],
    ["an empty metadata.uid", { metadata: { ...METADATA, uid: "" } }, ["config.metadata.uid", "empty"]],
    ["a metadata.uid with '_'", { metadata: { ...METADATA, uid: "a_b" } }, ["config.metadata.uid", "a_b"]],
    ["a metadata.uid with '/'", { metadata: { ...METADATA, uid: "a/b" } }, ["config.metadata.uid", "a/b"]],
    ["a hostname with '_'", { hostname: "web_0" }, ["config.hostname", "web_0"]],
    ["a hostname with capitals", { hostname: "Web-0" }, ["config.hostname"]],
    ["a hostname starting with '-'", { hostname: "-web" }, ["config.hostname"]],
    ["a hostname ending with '.'", { hostname: "web." }, ["config.hostname"]],
    ["a hostname of 65 characters", { hostname: "a".repeat(65) }, ["config.hostname"]],
    ["an empty DNS server", { dnsConfig: { servers: [""] } }, ["config.dns_config.servers[0]"]],
    ["a DNS server with an octet above 255", { dnsConfig: { servers: ["1.2.3.999"] } }, [
      "config.dns_config.servers[0]",
      "1.2.3.999",
      "IP address",
    ]],
    ["a DNS server that is a name", { dnsConfig: { servers: ["dns.example.com"] } }, [
      "config.dns_config.servers[0]",
    ]],
    ["a DNS server with three octets", { dnsConfig: { servers: ["10.96.0"] } }, ["config.dns_config.servers[0]"]],
    ["an IPv6 DNS server with two '::'", { dnsConfig: { servers: ["fd00::1::2"] } }, [
      "config.dns_config.servers[0]",
    ]],
    ["the second DNS server when it is bad", { dnsConfig: { servers: ["10.96.0.10", "x"] } }, [
      "config.dns_config.servers[1]",
    ]],
    ["a DNS search with a space", { dnsConfig: { searches: ["bad domain"] } }, [
      "config.dns_config.searches[0]",
      "bad domain",
    ]],
    ["a DNS search starting with '.'", { dnsConfig: { searches: [".example.com"] } }, [
      "config.dns_config.searches[0]",
    ]],
    ["a DNS search starting with '-'", { dnsConfig: { searches: ["ok.example", "-x.example"] } }, [
      "config.dns_config.searches[1]",
    ]],
    ["a DNS option with a space after ':'", { dnsConfig: { options: ["ndots: 5"] } }, [
      "config.dns_config.options[0]",
      "ndots: 5",
    ]],
    ["a DNS option with a space before ':'", { dnsConfig: { options: ["edns0", "attempts :2"] } }, [
      "config.dns_config.options[1]",
    ]],
    ["a DNS option with a space and no ':'", { dnsConfig: { options: ["timeout 1"] } }, [
      "config.dns_config.options[0]",
    ]],
    ["an SCTP port mapping", { portMappings: [{ protocol: Protocol.SCTP, containerPort: 9, hostPort: 9 }] }, [
      "config.port_mappings[0].protocol",
      "SCTP",
      "not supported",
    ]],
    ["an unknown protocol", { portMappings: [{ protocol: 7 as Protocol, containerPort: 9, hostPort: 9 }] }, [
      "config.port_mappings[0].protocol",
    ]],
    ["container_port 0", { portMappings: [{ containerPort: 0, hostPort: 8080 }] }, [
      "config.port_mappings[0].container_port",
      "0",
    ]],
    ["container_port 65536", { portMappings: [{ containerPort: 65536 }] }, [
      "config.port_mappings[0].container_port",
      "65536",
    ]],
    ["container_port -1", { portMappings: [{ containerPort: -1 }] }, ["config.port_mappings[0].container_port"]],
    ["host_port -1", { portMappings: [{ containerPort: 80, hostPort: -1 }] }, [
      "config.port_mappings[0].host_port",
      "-1",
    ]],
    ["host_port 70000", { portMappings: [{ containerPort: 80, hostPort: 70000 }] }, [
      "config.port_mappings[0].host_port",
      "70000",
    ]],
    ["host_port 65536 on the second mapping", {
      portMappings: [{ containerPort: 80, hostPort: 80 }, { containerPort: 81, hostPort: 65536 }],
    }, ["config.port_mappings[1].host_port"]],
    ["a host_ip that is a name", { portMappings: [{ containerPort: 80, hostPort: 80, hostIp: "localhost" }] }, [
      "config.port_mappings[0].host_ip",
      "localhost",
    ]],
    ["a host_ip with an octet above 255", {
      portMappings: [{ containerPort: 80, hostPort: 80, hostIp: "127.0.0.256" }],
    }, ["config.port_mappings[0].host_ip"]],
    ["network CONTAINER", namespaces({ network: NamespaceMode.CONTAINER }), [`${NS_FIELD}.network`]],
    ["network TARGET", namespaces({ network: NamespaceMode.TARGET }), [`${NS_FIELD}.network`]],
    ["ipc CONTAINER", namespaces({ ipc: NamespaceMode.CONTAINER }), [`${NS_FIELD}.ipc`]],
    ["ipc TARGET", namespaces({ ipc: NamespaceMode.TARGET }), [`${NS_FIELD}.ipc`]],
    ["pid TARGET", namespaces({ pid: NamespaceMode.TARGET, targetId: "abc" }), [`${NS_FIELD}.pid`, "TARGET"]],
    ["userns_options mode POD", namespaces({ usernsOptions: { mode: NamespaceMode.POD } }), [
      `${NS_FIELD}.userns_options`,
      "not supported",
    ]],
    ["userns_options mode CONTAINER", namespaces({ usernsOptions: { mode: NamespaceMode.CONTAINER } }), [
      `${NS_FIELD}.userns_options`,
    ]],
    ["a sysctl key with capitals", { linux: { sysctls: { "Net.ipv4.ip_forward": "1" } } }, [
      "config.linux.sysctls",
      "Net.ipv4.ip_forward",
    ]],
    ["a sysctl key without a dot", { linux: { sysctls: { kernel: "1" } } }, ["config.linux.sysctls", "kernel"]],
    ["a sysctl key with '..'", { linux: { sysctls: { "net..ipv4": "1" } } }, ["config.linux.sysctls"]],
    ["a sysctl key with a space", { linux: { sysctls: { "net.ipv4.ip forward": "1" } } }, [
      "config.linux.sysctls",
    ]],
  ];
  for (const [what, patch, parts] of rejected) {
    await t.step(`validateSandboxConfig() rejects ${what} naming ${parts[0]}`, () => {
      assertInvalid(() => validateSandboxConfig(sandboxConfig(patch)), ...parts);
    });
  }

  const accepted: [string, ConfigInit][] = [
    ["kubelet's ordinary bridged pod", {}],
    ["a config with nothing but metadata", {
      hostname: "",
      logDirectory: "",
      portMappings: [],
      labels: {},
      annotations: {},
    }],
    ["dotted names and a 253-character name", { metadata: { ...METADATA, name: `a.b-c.${"d".repeat(247)}` } }],
    ["an empty hostname (unset)", { hostname: "" }],
    ["a dotted hostname", { hostname: "web-0.web.default" }],
    ["a hostname of 64 characters", { hostname: "a".repeat(64) }],
    ["IPv4 and IPv6 DNS servers", { dnsConfig: { servers: ["10.96.0.10", "fd00::a", "2001:db8::1", "::1"] } }],
    ["a DNS search with a trailing dot", { dnsConfig: { searches: ["cluster.local.", "example"] } }],
    ["resolv.conf options with and without values", {
      dnsConfig: { options: ["ndots:5", "edns0", "single-request-reopen", "timeout:1.5"] },
    }],
    ["UDP, host_port 0 (not published) and the port range's ends", {
      portMappings: [
        { protocol: Protocol.UDP, containerPort: 53, hostPort: 0 },
        { protocol: Protocol.TCP, containerPort: 65535, hostPort: 65535 },
        { protocol: Protocol.TCP, containerPort: 1, hostPort: 1 },
      ],
    }],
    ["host_ip as IPv4 and IPv6", {
      portMappings: [
        { containerPort: 80, hostPort: 80, hostIp: "127.0.0.1" },
        { containerPort: 80, hostPort: 80, hostIp: "0.0.0.0" },
        { containerPort: 80, hostPort: 80, hostIp: "::1" },
      ],
    }],
    ["namespace options left unset (all POD)", namespaces({})],
    [
      "host network, host PID and host IPC",
      namespaces({
        network: NamespaceMode.NODE,
        pid: NamespaceMode.NODE,
        ipc: NamespaceMode.NODE,
      }),
    ],
    ["pid CONTAINER", namespaces({ pid: NamespaceMode.CONTAINER })],
    ["userns_options mode NODE", namespaces({ usernsOptions: { mode: NamespaceMode.NODE } })],
    ["namespaced sysctls with '.' and '/'", {
      linux: {
        sysctls: {
          "net.ipv4.ip_unprivileged_port_start": "0",
          "kernel.shm_rmid_forced": "1",
          "net/ipv4/conf/eth0/forwarding": "1",
          "net.ipv4.conf.all.src_valid_mark": "1",
        },
      },
    }],
  ];
  for (const [what, patch] of accepted) {
    await t.step(`validateSandboxConfig() accepts ${what} and returns the same config`, () => {
      const config = sandboxConfig(patch);
      assert.equal(validateSandboxConfig(config), config);
    });
  }
  await t.step({
    name: "validateSandboxConfig() rejects malformed IPv6 DNS servers and host_ip",
    fn: () => {
      for (const bad of [":::", "12345::", "1:2:3", ":1", "abc:"]) {
        assertInvalid(
          () => validateSandboxConfig(sandboxConfig({ dnsConfig: { servers: [bad] } })),
          "config.dns_config.servers[0]",
        );
        assertInvalid(
          () =>
            validateSandboxConfig(sandboxConfig({ portMappings: [{ containerPort: 80, hostPort: 80, hostIp: bad }] })),
          "config.port_mappings[0].host_ip",
        );
      }
    },
  });
});

Deno.test("sandboxName()", async (t) => {
  await t.step("sandboxName() is k8s_<name>_<namespace>_<uid>_<attempt>", () => {
    assert.equal(sandboxName(METADATA), `k8s_web-0_default_${UID}_0`);
    assert.equal(sandboxName({ name: "a", namespace: "b", uid: "c", attempt: 3 }), "k8s_a_b_c_3");
  });

  await t.step("sandboxName() is deterministic for equal metadata", () => {
    assert.equal(sandboxName({ ...METADATA }), sandboxName({ ...METADATA }));
    assert.equal(sandboxName(sandboxConfig().metadata ?? METADATA), sandboxName(METADATA));
  });

  await t.step("sandboxName() differs when any metadata field differs, attempt included", () => {
    const names = [
      METADATA,
      { ...METADATA, name: "web-1" },
      { ...METADATA, namespace: "prod" },
      { ...METADATA, uid: "1b5c3f6e" },
      { ...METADATA, attempt: 1 },
      { ...METADATA, attempt: 10 },
    ].map(sandboxName);
    assert.equal(new Set(names).size, names.length, names.join(", "));
  });
});

Deno.test("toLibpodPodSpec()", async (t) => {
  await t.step("toLibpodPodSpec() names the pod with sandboxName()", () => {
    assert.equal(podSpec().name, sandboxName(METADATA));
  });

  await t.step("toLibpodPodSpec() labels the pod as a managed sandbox with its runtime handler", () => {
    const labels = podSpec({}, OPTS, "runc").labels ?? {};
    assert.equal(labels[MANAGED], "true");
    assert.equal(labels[KIND], "sandbox");
    assert.equal(labels[RUNTIME_HANDLER], "runc");
    assert.ok(labels[SANDBOX_CONFIG]);
  });

  await t.step("toLibpodPodSpec() stores the config so that readStoredSandbox() returns an equal one", () => {
    const config = sandboxConfig({
      labels: {
        app: "web",
        // CRI labels that look like ours live inside the JSON and must not disturb our markers.
        [MANAGED]: "x",
        [KIND]: "container",
        [SANDBOX_CONFIG]: "{}",
        [RUNTIME_HANDLER]: "kata",
        "": "empty key",
      },
      annotations: {
        "kubernetes.io/config.seen": "2026-11-25T23:15:11.179880380Z",
        "multi-line": 'line 1\nline 2 "quoted" \u00e9\u{1f600}',
        empty: "",
      },
      linux: {
        cgroupParent: "/kubepods/pod0b5c3f6e",
        sysctls: { "net.ipv4.ip_unprivileged_port_start": "0" },
        securityContext: {
          namespaceOptions: { pid: NamespaceMode.NODE },
          runAsUser: { value: 1000n },
          supplementalGroups: [1000n, 4294967296n],
          seccomp: { profileType: SecurityProfile_ProfileType.Localhost, localhostRef: "/p/audit.json" },
        },
      },
      portMappings: [{ protocol: Protocol.UDP, containerPort: 53, hostPort: 5353, hostIp: "127.0.0.1" }],
    });
    const spec = toLibpodPodSpec(validateSandboxConfig(config), "runc", OPTS);
    assert.equal(spec.labels?.[MANAGED], "true");
    assert.equal(spec.labels?.[KIND], "sandbox");
    assert.equal(spec.labels?.[RUNTIME_HANDLER], "runc");
    const stored = readStoredSandbox(spec.labels);
    assert.ok(stored);
    assert.deepEqual(stored.config, config);
    assert.deepEqual(stored.config.labels, config.labels);
    assert.deepEqual(stored.config.annotations, config.annotations);
    assert.equal(stored.runtimeHandler, "runc");
  });

  const sharing: [string, ConfigInit, string[], { nsmode: string } | undefined][] = [
    ["no linux config at all (all POD)", { linux: {} }, ["ipc", "net", "pid", "uts"], undefined],
    ["unset namespace options (all POD)", namespaces({}), ["ipc", "net", "pid", "uts"], undefined],
    ["pid POD", namespaces({ pid: NamespaceMode.POD }), ["ipc", "net", "pid", "uts"], undefined],
    ["pid CONTAINER", namespaces({ pid: NamespaceMode.CONTAINER }), ["ipc", "net", "uts"], undefined],
    ["pid NODE", namespaces({ pid: NamespaceMode.NODE }), ["ipc", "net", "pid", "uts"], { nsmode: "host" }],
    ["ipc NODE", namespaces({ ipc: NamespaceMode.NODE }), ["net", "pid", "uts"], undefined],
    ["ipc NODE and pid CONTAINER", namespaces({ ipc: NamespaceMode.NODE, pid: NamespaceMode.CONTAINER }), [
      "net",
      "uts",
    ], undefined],
  ];
  for (const [what, patch, shared, pidns] of sharing) {
    await t.step(`toLibpodPodSpec() shares ${shared.join(", ")} when ${what}`, () => {
      const spec = podSpec(patch);
      assert.deepEqual([...(spec.shared_namespaces ?? [])].sort(), shared);
      assert.deepEqual(spec.pidns, pidns);
    });
  }

  await t.step("toLibpodPodSpec() joins the bridge network with the hostname when network is POD", () => {
    const spec = podSpec();
    assert.deepEqual(spec.netns, { nsmode: "bridge" });
    assert.deepEqual(spec.Networks, { [NETWORK]: {} });
    assert.equal(spec.hostname, "web-0");
    assert.equal(spec.utsns, undefined);
  });

  await t.step("toLibpodPodSpec() joins the configured network name", () => {
    assert.deepEqual(podSpec({}, { networkName: "k8s-pods", infraImage: "" }).Networks, { "k8s-pods": {} });
  });

  await t.step("toLibpodPodSpec() sets no hostname when neither the config nor the node names one", () => {
    assert.ok(!("hostname" in podSpec({ hostname: "" })));
  });

  await t.step("toLibpodPodSpec() gives a pod without a hostname the node's (Podman's pod name may exceed 64)", () => {
    assert.equal(podSpec({ hostname: "" }, { ...OPTS, nodeHostname: "node-1" }).hostname, "node-1");
    assert.equal(podSpec({ hostname: "mine" }, { ...OPTS, nodeHostname: "node-1" }).hostname, "mine");
  });

  await t.step("toLibpodPodSpec() publishes only ports with a host port, as tcp/udp with host_ip when given", () => {
    const spec = podSpec({
      portMappings: [
        { protocol: Protocol.TCP, containerPort: 80, hostPort: 8080 },
        { protocol: Protocol.UDP, containerPort: 53, hostPort: 0 },
        { protocol: Protocol.UDP, containerPort: 53, hostPort: 5353, hostIp: "127.0.0.1" },
        { protocol: Protocol.TCP, containerPort: 443, hostPort: 8443, hostIp: "" },
        { protocol: Protocol.TCP, containerPort: 9000, hostPort: 0, hostIp: "0.0.0.0" },
      ],
    });
    const expected: LibpodPortMapping[] = [
      { host_port: 8080, container_port: 80, protocol: "tcp" },
      { host_port: 5353, container_port: 53, protocol: "udp", host_ip: "127.0.0.1" },
      { host_port: 8443, container_port: 443, protocol: "tcp" },
    ];
    assert.deepEqual(spec.portmappings, expected);
  });

  await t.step("toLibpodPodSpec() sends no portmappings when no port has a host port", () => {
    assert.ok(!("portmappings" in podSpec({ portMappings: [] })));
    assert.ok(!("portmappings" in podSpec({ portMappings: [{ containerPort: 80, hostPort: 0 }] })));
  });

  await t.step("toLibpodPodSpec() uses the host's network and UTS namespaces when network is NODE", () => {
    const spec = podSpec({
      hostname: "web-0",
      portMappings: [{ protocol: Protocol.TCP, containerPort: 80, hostPort: 80 }],
      ...namespaces({ network: NamespaceMode.NODE }),
    });
    assert.deepEqual(spec.netns, { nsmode: "host" });
    assert.deepEqual(spec.utsns, { nsmode: "host" });
    assert.ok(!("hostname" in spec));
    assert.ok(!("Networks" in spec));
    assert.ok(!("portmappings" in spec));
  });

  await t.step(
    "toLibpodPodSpec() shares no network namespace in a node's host-network pod (its containers join the node's)",
    () => {
      const spec = podSpec(namespaces({ network: NamespaceMode.NODE }), { ...OPTS, nodeNetns: "/run/user/1/netns/r" });
      assert.deepEqual(spec.netns, { nsmode: "host" });
      assert.deepEqual(spec.utsns, { nsmode: "host" });
      assert.equal(spec.shared_namespaces?.includes("net"), false);
      assert.equal(spec.shared_namespaces?.includes("uts"), true);
      // A pod network of a node still shares its bridge namespace as always.
      const bridge = podSpec({}, { ...OPTS, nodeNetns: "/run/user/1/netns/r" });
      assert.deepEqual(bridge.netns, { nsmode: "bridge" });
      assert.equal(bridge.shared_namespaces?.includes("net"), true);
    },
  );

  await t.step("toLibpodPodSpec() copies the DNS servers, searches and options", () => {
    const config = sandboxConfig({
      dnsConfig: {
        servers: ["10.96.0.10", "fd00::a"],
        searches: ["a.local", "b.local"],
        options: ["ndots:5", "edns0"],
      },
    });
    const spec = toLibpodPodSpec(validateSandboxConfig(config), "", OPTS);
    assert.deepEqual(spec.dns_server, ["10.96.0.10", "fd00::a"]);
    assert.deepEqual(spec.dns_search, ["a.local", "b.local"]);
    assert.deepEqual(spec.dns_option, ["ndots:5", "edns0"]);
    assert.notEqual(spec.dns_server, config.dnsConfig?.servers);
  });

  await t.step("toLibpodPodSpec() sends no DNS fields when the config has none", () => {
    for (const spec of [podSpec({ dnsConfig: {} }), podSpec({ dnsConfig: { servers: [], searches: [] } })]) {
      assert.ok(!("dns_server" in spec));
      assert.ok(!("dns_search" in spec));
      assert.ok(!("dns_option" in spec));
    }
  });

  await t.step("toLibpodPodSpec() copies the sysctls", () => {
    const sysctls = { "net.ipv4.ip_unprivileged_port_start": "0", "kernel.shm_rmid_forced": "1" };
    assert.deepEqual(podSpec({ linux: { sysctls } }).sysctl, sysctls);
    assert.ok(!("sysctl" in podSpec({ linux: { sysctls: {} } })));
  });

  const seccomp: [string, ConfigInit, string[] | undefined][] = [
    ["no security context", { linux: {} }, undefined],
    ["seccomp RuntimeDefault", {
      linux: { securityContext: { seccomp: { profileType: SecurityProfile_ProfileType.RuntimeDefault } } },
    }, undefined],
    ["seccomp Unconfined", {
      linux: { securityContext: { seccomp: { profileType: SecurityProfile_ProfileType.Unconfined } } },
    }, ["seccomp=unconfined"]],
    ["seccomp Localhost", {
      linux: {
        securityContext: {
          seccomp: {
            profileType: SecurityProfile_ProfileType.Localhost,
            localhostRef: "/var/lib/kubelet/seccomp/profiles/audit.json",
          },
        },
      },
    }, ["seccomp=/var/lib/kubelet/seccomp/profiles/audit.json"]],
    ["seccomp RuntimeDefault beside a deprecated path unconfined (the field wins)", {
      linux: {
        securityContext: {
          seccomp: { profileType: SecurityProfile_ProfileType.RuntimeDefault },
          seccompProfilePath: "unconfined",
        },
      },
    }, undefined],
    [
      "deprecated seccomp_profile_path unconfined",
      { linux: { securityContext: { seccompProfilePath: "unconfined" } } },
      [
        "seccomp=unconfined",
      ],
    ],
    ["deprecated seccomp_profile_path localhost/<path>", {
      linux: { securityContext: { seccompProfilePath: "localhost//var/lib/kubelet/seccomp/audit.json" } },
    }, ["seccomp=/var/lib/kubelet/seccomp/audit.json"]],
    ["deprecated seccomp_profile_path runtime/default", {
      linux: { securityContext: { seccompProfilePath: "runtime/default" } },
    }, undefined],
    ["deprecated seccomp_profile_path docker/default", {
      linux: { securityContext: { seccompProfilePath: "docker/default" } },
    }, undefined],
    ["an empty seccomp_profile_path (unconfined, as the CRI says)", {
      linux: { securityContext: { seccompProfilePath: "" } },
    }, ["seccomp=unconfined"]],
  ];
  for (const [what, patch, expected] of seccomp) {
    await t.step(`toLibpodPodSpec() sets security_opt ${JSON.stringify(expected ?? "none")} for ${what}`, () => {
      assert.deepEqual(podSpec(patch).security_opt, expected);
    });
  }

  await t.step("toLibpodPodSpec() sets infra_image only when one is configured", () => {
    assert.ok(!("infra_image" in podSpec({}, { networkName: NETWORK, infraImage: "" })));
    assert.equal(
      podSpec({}, { networkName: NETWORK, infraImage: "registry.k8s.io/pause:3.10" }).infra_image,
      "registry.k8s.io/pause:3.10",
    );
  });
});

Deno.test("readStoredSandbox()", async (t) => {
  const unreadable: [string, Record<string, string> | null | undefined][] = [
    ["undefined labels", undefined],
    ["null labels", null],
    ["labels without the config", { [MANAGED]: "true", [KIND]: "sandbox" }],
    ["an empty config label", { [SANDBOX_CONFIG]: "" }],
    ["a config label that is not JSON", { [SANDBOX_CONFIG]: "{not json" }],
    ["a config label that is JSON null", { [SANDBOX_CONFIG]: "null" }],
    ["a config label that is a JSON array", { [SANDBOX_CONFIG]: "[]" }],
    ["a config label with a wrongly typed field", { [SANDBOX_CONFIG]: '{"metadata":{"name":1}}' }],
  ];
  for (const [what, labels] of unreadable) {
    await t.step(`readStoredSandbox() returns undefined for ${what}`, () => {
      assert.equal(readStoredSandbox(labels), undefined);
    });
  }

  await t.step("readStoredSandbox() reads a config stored by a newer cri-podman, ignoring unknown fields", () => {
    assert.equal(readStoredSandbox({ [SANDBOX_CONFIG]: '{"hostname":"h","futureField":1}' })?.config.hostname, "h");
  });

  await t.step("readStoredSandbox() reads the config and the runtime handler", () => {
    const stored = readStoredSandbox({
      [SANDBOX_CONFIG]: JSON.stringify({ metadata: { name: "a", namespace: "b", uid: "c", attempt: 2 } }),
      [RUNTIME_HANDLER]: "crun",
    });
    assert.equal(stored?.runtimeHandler, "crun");
    assert.deepEqual(
      stored?.config.metadata,
      sandboxConfig({ metadata: { name: "a", namespace: "b", uid: "c", attempt: 2 } }).metadata,
    );
  });

  await t.step('readStoredSandbox() reads a missing runtime handler as the default ""', () => {
    assert.equal(readStoredSandbox({ [SANDBOX_CONFIG]: "{}" })?.runtimeHandler, "");
  });
});

/** The labels Podman returns for the pod created from {@link BASE} with `patch`. */
function podLabels(patch: ConfigInit = {}, runtimeHandler = "runc"): Record<string, string> {
  return podSpec(patch, OPTS, runtimeHandler).labels ?? {};
}

const POD_ID = "3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c8b7a6f5e4d3c2b";
const INFRA_ID = "9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b2a1f0e9d8c7b6a5f4e3d2c1b0a9f8e";

/** Fields to replace in a pod list item; `undefined` removes the field. */
type ListItemPatch = { [K in keyof LibpodPodListItem]?: LibpodPodListItem[K] | undefined };

/** A `GET /libpod/pods/json` item of our sandbox. */
function listItem(patch: ListItemPatch = {}): LibpodPodListItem {
  const item: ListItemPatch = {
    Id: POD_ID,
    Name: sandboxName(METADATA),
    Created: "2026-11-25T23:15:11.17988038Z",
    Status: "Running",
    InfraId: INFRA_ID,
    Labels: podLabels(),
    Containers: [{ Id: INFRA_ID, Names: "3c2b1a0f9e8d-infra", Status: "running" }],
    Networks: [NETWORK],
    ...patch,
  };
  for (const [key, value] of Object.entries(item)) {
    if (value === undefined) delete item[key as keyof LibpodPodListItem];
  }
  return item as LibpodPodListItem;
}

Deno.test("toCriSandboxFromList()", async (t) => {
  await t.step("toCriSandboxFromList() rebuilds the sandbox from the pod and its stored config", () => {
    const config = sandboxConfig();
    assert.deepEqual(toCriSandboxFromList(listItem()), {
      id: POD_ID,
      metadata: config.metadata,
      state: PodSandboxState.SANDBOX_READY,
      createdAt: 1795648511179880380n,
      labels: config.labels,
      annotations: config.annotations,
      runtimeHandler: "runc",
    });
  });

  await t.step("toCriSandboxFromList() returns the CRI labels, not the pod's labels", () => {
    const sandbox = toCriSandboxFromList(listItem({ Labels: podLabels({ labels: { [MANAGED]: "x" } }) }));
    assert.deepEqual(sandbox?.labels, { [MANAGED]: "x" });
  });

  const states: [string, ListItemPatch, PodSandboxState][] = [
    ["the infra container is running", {}, PodSandboxState.SANDBOX_READY],
    ["the infra container has exited", {
      Containers: [{ Id: INFRA_ID, Names: "infra", Status: "exited" }],
    }, PodSandboxState.SANDBOX_NOTREADY],
    ["the infra container is only created", {
      Containers: [{ Id: INFRA_ID, Names: "infra", Status: "created" }],
    }, PodSandboxState.SANDBOX_NOTREADY],
    ["another container runs but the infra container has stopped", {
      Containers: [
        { Id: "c1", Names: "app", Status: "running" },
        { Id: INFRA_ID, Names: "infra", Status: "stopped" },
      ],
    }, PodSandboxState.SANDBOX_NOTREADY],
    ["the infra container is running after other containers", {
      Containers: [
        { Id: "c1", Names: "app", Status: "exited" },
        { Id: INFRA_ID, Names: "infra", Status: "running" },
      ],
    }, PodSandboxState.SANDBOX_READY],
    ["only a non-infra container is running", {
      Containers: [{ Id: "c1", Names: "app", Status: "running" }],
    }, PodSandboxState.SANDBOX_NOTREADY],
    ["the pod has no infra id", { InfraId: "" }, PodSandboxState.SANDBOX_NOTREADY],
    ["Containers is null", { Containers: null }, PodSandboxState.SANDBOX_NOTREADY],
    ["Containers is absent", { Containers: undefined }, PodSandboxState.SANDBOX_NOTREADY],
  ];
  for (const [what, patch, state] of states) {
    await t.step(`toCriSandboxFromList() is ${PodSandboxState[state]} when ${what}`, () => {
      assert.equal(toCriSandboxFromList(listItem(patch))?.state, state);
    });
  }

  const created: [string, bigint][] = [
    ["2026-11-25T23:15:11.17988038Z", 1795648511179880380n],
    ["2026-11-25T23:15:11.179880381Z", 1795648511179880381n],
    ["2026-11-25T23:15:11.1Z", 1795648511100000000n],
    ["2026-11-25T23:15:11Z", 1795648511000000000n],
    ["2026-11-26T00:15:11.17988038+01:00", 1795648511179880380n],
    ["0001-01-01T00:00:00Z", 0n],
    ["", 0n],
  ];
  for (const [text, nanos] of created) {
    await t.step(`toCriSandboxFromList() reads Created ${JSON.stringify(text)} as ${nanos} ns`, () => {
      assert.equal(toCriSandboxFromList(listItem({ Created: text }))?.createdAt, nanos);
    });
  }

  await t.step("toCriSandboxFromList() reads the runtime handler stored at creation", () => {
    assert.equal(toCriSandboxFromList(listItem({ Labels: podLabels({}, "") }))?.runtimeHandler, "");
    assert.equal(toCriSandboxFromList(listItem({ Labels: podLabels({}, "kata") }))?.runtimeHandler, "kata");
  });

  const foreign: [string, ListItemPatch][] = [
    ["null labels", { Labels: null }],
    ["absent labels", { Labels: undefined }],
    ["someone else's labels", { Labels: { app: "web" } }],
    ["our markers without a config", { Labels: { [MANAGED]: "true", [KIND]: "sandbox" } }],
    ["a damaged config", { Labels: { ...podLabels(), [SANDBOX_CONFIG]: '{"metadata":' } }],
  ];
  for (const [what, patch] of foreign) {
    await t.step(`toCriSandboxFromList() returns undefined for a pod with ${what}`, () => {
      assert.equal(toCriSandboxFromList(listItem(patch)), undefined);
    });
  }
});

/** A `GET /libpod/pods/{id}/json` answer. */
function podInspect(): LibpodPodInspect {
  return {
    Id: POD_ID,
    Name: sandboxName(METADATA),
    Created: "2026-11-25T23:15:11.17988038Z",
    State: "Running",
    InfraContainerID: INFRA_ID,
  };
}

/** The infra container's inspect, attached to `networks`. */
function infraInspect(
  running: boolean,
  networks: Record<string, { IPAddress?: string; GlobalIPv6Address?: string }> | null = {
    [NETWORK]: { IPAddress: "10.88.0.5", GlobalIPv6Address: "" },
  },
): LibpodContainerInspect {
  return {
    Id: INFRA_ID,
    Name: "3c2b1a0f9e8d-infra",
    Created: "2026-11-25T23:15:11.2Z",
    State: { Status: running ? "running" : "exited", Running: running, Pid: running ? 4242 : 0, ExitCode: 0 },
    IsInfra: true,
    NetworkSettings: { IPAddress: "", Networks: networks },
  };
}

/** What the handler reads back from the labels of the pod created from {@link BASE} with `patch`. */
function stored(patch: ConfigInit = {}, runtimeHandler = "runc"): StoredSandbox {
  const s = readStoredSandbox(podLabels(patch, runtimeHandler));
  assert.ok(s);
  return s;
}

Deno.test("toCriSandboxStatus()", async (t) => {
  await t.step("toCriSandboxStatus() reports a ready bridged sandbox with its IP", () => {
    const config = sandboxConfig();
    const status = toCriSandboxStatus(podInspect(), infraInspect(true), stored(), NETWORK);
    assert.deepEqual(status, {
      id: POD_ID,
      metadata: config.metadata,
      state: PodSandboxState.SANDBOX_READY,
      createdAt: 1795648511179880380n,
      network: { ip: "10.88.0.5", additionalIps: [] },
      linux: { namespaces: { options: config.linux?.securityContext?.namespaceOptions } },
      labels: config.labels,
      annotations: config.annotations,
      runtimeHandler: "runc",
    });
  });

  const cases: [string, LibpodContainerInspect | undefined, ConfigInit, PodSandboxState, string, string[]][] = [
    ["the infra container is running", infraInspect(true), {}, PodSandboxState.SANDBOX_READY, "10.88.0.5", []],
    ["the infra container has stopped (no IP)", infraInspect(false), {}, PodSandboxState.SANDBOX_NOTREADY, "", []],
    ["the infra container is gone", undefined, {}, PodSandboxState.SANDBOX_NOTREADY, "", []],
    [
      "the infra container has an IPv6 address too",
      infraInspect(true, {
        [NETWORK]: { IPAddress: "10.88.0.5", GlobalIPv6Address: "fd00::5" },
      }),
      {},
      PodSandboxState.SANDBOX_READY,
      "10.88.0.5",
      ["fd00::5"],
    ],
    [
      "a stopped infra container still lists an IPv6 address",
      infraInspect(false, {
        [NETWORK]: { IPAddress: "10.88.0.5", GlobalIPv6Address: "fd00::5" },
      }),
      {},
      PodSandboxState.SANDBOX_NOTREADY,
      "",
      [],
    ],
    [
      "the infra container is on another network only",
      infraInspect(true, {
        podman: { IPAddress: "10.89.0.7" },
      }),
      {},
      PodSandboxState.SANDBOX_READY,
      "",
      [],
    ],
    ["the infra container's Networks is null", infraInspect(true, null), {}, PodSandboxState.SANDBOX_READY, "", []],
    [
      "the sandbox uses the host network",
      infraInspect(true, { [NETWORK]: { IPAddress: "10.88.0.5", GlobalIPv6Address: "fd00::5" } }),
      namespaces({ network: NamespaceMode.NODE }),
      PodSandboxState.SANDBOX_READY,
      "",
      [],
    ],
  ];
  for (const [what, infra, patch, state, ip, additional] of cases) {
    await t.step(`toCriSandboxStatus() reports ${PodSandboxState[state]} ip ${JSON.stringify(ip)} when ${what}`, () => {
      const status = toCriSandboxStatus(podInspect(), infra, stored(patch), NETWORK);
      assert.equal(status.state, state);
      assert.deepEqual(status.network, { ip, additionalIps: additional.map((a) => ({ ip: a })) });
    });
  }

  await t.step("toCriSandboxStatus() reads the IP of the network it is told", () => {
    const infra = infraInspect(true, { podman: { IPAddress: "10.89.0.7" }, [NETWORK]: { IPAddress: "10.88.0.5" } });
    assert.equal(toCriSandboxStatus(podInspect(), infra, stored(), "podman").network?.ip, "10.89.0.7");
  });

  const echoed: [string, NamespaceInit][] = [
    ["all POD", { network: NamespaceMode.POD, pid: NamespaceMode.POD, ipc: NamespaceMode.POD }],
    ["pid CONTAINER", { pid: NamespaceMode.CONTAINER }],
    ["host network, PID and IPC", { network: NamespaceMode.NODE, pid: NamespaceMode.NODE, ipc: NamespaceMode.NODE }],
    ["userns NODE", { usernsOptions: { mode: NamespaceMode.NODE } }],
  ];
  for (const [what, ns] of echoed) {
    await t.step(`toCriSandboxStatus() echoes the stored namespace options (${what})`, () => {
      const s = stored(namespaces(ns));
      const status = toCriSandboxStatus(podInspect(), infraInspect(true), s, NETWORK);
      assert.deepEqual(status.linux?.namespaces?.options, s.config.linux?.securityContext?.namespaceOptions);
      assert.deepEqual(
        status.linux?.namespaces?.options,
        sandboxConfig(namespaces(ns)).linux?.securityContext?.namespaceOptions,
      );
    });
  }

  await t.step("toCriSandboxStatus() reports empty namespace options when none were stored", () => {
    const status = toCriSandboxStatus(podInspect(), infraInspect(true), stored({ linux: {} }), NETWORK);
    assert.deepEqual(status.linux?.namespaces?.options, {});
  });

  await t.step("toCriSandboxStatus() reads Created with nanoseconds and the stored runtime handler", () => {
    const status = toCriSandboxStatus(
      { ...podInspect(), Created: "2026-11-25T23:15:11.000000001Z" },
      infraInspect(true),
      stored({}, "kata"),
      NETWORK,
    );
    assert.equal(status.createdAt, 1795648511000000001n);
    assert.equal(status.runtimeHandler, "kata");
  });
});

/** The init object form of a listed sandbox, so that it can be spread. */
type SandboxInit = Exclude<CriPodSandbox, PodSandbox>;

/** A listed sandbox. */
function criSandbox(patch: SandboxInit = {}): CriPodSandbox {
  return {
    id: POD_ID,
    metadata: METADATA,
    state: PodSandboxState.SANDBOX_READY,
    createdAt: 1n,
    labels: { app: "web", tier: "frontend" },
    annotations: {},
    runtimeHandler: "",
    ...patch,
  };
}

Deno.test("matchesSandboxFilter()", async (t) => {
  await t.step("matchesSandboxFilter() matches everything without a filter", () => {
    assert.equal(matchesSandboxFilter(criSandbox(), undefined), true);
    assert.equal(matchesSandboxFilter(criSandbox({ labels: {} }), undefined), true);
  });

  type FilterInit = MessageInitShape<typeof PodSandboxFilterSchema>;
  const cases: [string, SandboxInit, FilterInit, boolean][] = [
    ["an empty filter", {}, {}, true],
    ["the full id", {}, { id: POD_ID }, true],
    ["an id prefix", {}, { id: "3c2b1a" }, true],
    ["an id that is not a prefix", {}, { id: "3c2b1b" }, false],
    ["an id found only in the middle", {}, { id: "2b1a0f" }, false],
    ["an id longer than the sandbox's", {}, { id: `${POD_ID}0` }, false],
    ["state READY on a ready sandbox", {}, { state: { state: PodSandboxState.SANDBOX_READY } }, true],
    ["state READY on a sandbox that is not ready", { state: PodSandboxState.SANDBOX_NOTREADY }, {
      state: { state: PodSandboxState.SANDBOX_READY },
    }, false],
    ["state NOTREADY on a ready sandbox", {}, { state: { state: PodSandboxState.SANDBOX_NOTREADY } }, false],
    ["state NOTREADY on a sandbox that is not ready", { state: PodSandboxState.SANDBOX_NOTREADY }, {
      state: { state: PodSandboxState.SANDBOX_NOTREADY },
    }, true],
    ["one matching label", {}, { labelSelector: { app: "web" } }, true],
    ["all labels matching", {}, { labelSelector: { app: "web", tier: "frontend" } }, true],
    ["one of two labels differing", {}, { labelSelector: { app: "web", tier: "backend" } }, false],
    ["a label the sandbox lacks", {}, { labelSelector: { zone: "a" } }, false],
    ['a label selecting "" that the sandbox lacks', {}, { labelSelector: { zone: "" } }, false],
    ["a label selector on a sandbox without labels", { labels: {} }, { labelSelector: { app: "web" } }, false],
    ["id, state and labels all matching", {}, {
      id: "3c2b",
      state: { state: PodSandboxState.SANDBOX_READY },
      labelSelector: { app: "web" },
    }, true],
    ["id and state matching but a label not", {}, {
      id: "3c2b",
      state: { state: PodSandboxState.SANDBOX_READY },
      labelSelector: { app: "db" },
    }, false],
    ["labels matching but the id not", {}, { id: "ffff", labelSelector: { app: "web" } }, false],
  ];
  for (const [what, patch, filter, matches] of cases) {
    await t.step(`matchesSandboxFilter() ${matches ? "matches" : "rejects"} ${what}`, () => {
      assert.equal(matchesSandboxFilter(criSandbox(patch), create(PodSandboxFilterSchema, filter)), matches);
    });
  }
});

Deno.test("validateSandboxConfig() refuses a deprecated seccomp_profile_path that names no profile, as containerd does", () => {
  const withPath = (seccompProfilePath: string) =>
    sandboxConfig({ linux: { securityContext: { seccompProfilePath } } });
  assertInvalid(() => validateSandboxConfig(withPath("/var/lib/kubelet/seccomp/p.json")), "seccomp_profile_path");
  assert.ok(validateSandboxConfig(withPath("localhost/p.json")));
  assert.ok(validateSandboxConfig(withPath("runtime/default")));
});
