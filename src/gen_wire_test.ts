/**
 * Wire compatibility of the generated CRI types (src/gen/) with upstream cri-api v0.36.3, checked by field number.
 *
 * Each case pairs a message built with our generated schema and a hand-written wire expectation: field numbers,
 * wire types and values typed as literals from the upstream api.proto, so the check does not trust the generator.
 * Both directions run: our encoding is read back number by number with BinaryReader, and bytes hand-encoded with
 * BinaryWriter from the expectation decode into the same message with our types.
 */
import assert from "node:assert/strict";
import { create, type DescMessage, fromBinary, type MessageInitShape, toBinary } from "@bufbuild/protobuf";
import { BinaryReader, BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import {
  ContainerConfigSchema,
  ContainerStatsResponseSchema,
  ContainerStatusSchema,
  PodSandboxConfigSchema,
  PullImageRequestSchema,
} from "./gen/runtime/v1/api_pb.ts";

/** Packed repeated varints (proto3 packs repeated scalars): one LEN field holding the varints. */
type Packed = { readonly packed: readonly bigint[] };
/** A double, carried as 8 little-endian bytes (wire type I64). */
type Double = { readonly double: number };
/** One expected field: number, wire type, value; a nested message is its own list of fields. */
type Field =
  | readonly [number, WireType.Varint, bigint | number | boolean]
  | readonly [number, WireType.Bit64, Double]
  | readonly [number, WireType.LengthDelimited, string | Uint8Array | Packed | Wire];
/** A message as it appears on the wire: fields in any order; repeated fields keep their order. */
type Wire = readonly Field[];

const VARINT = WireType.Varint;
const I64 = WireType.Bit64;
const LEN = WireType.LengthDelimited;

/** A map<string, string> entry: a nested message with key = 1 and value = 2. */
const entry = (no: number, key: string, value: string): Field => [no, LEN, [[1, LEN, key], [2, LEN, value]]];

const utf8 = new TextEncoder();

/** Encodes an expectation by hand with BinaryWriter, field by field in the order written. */
function encode(wire: Wire): Uint8Array {
  const w = new BinaryWriter();
  for (const [no, type, value] of wire) {
    w.tag(no, type);
    if (type === VARINT) w.uint64(BigInt.asUintN(64, BigInt(value)));
    else if (type === I64) w.double(value.double);
    else if (typeof value === "string") w.string(value);
    else if (value instanceof Uint8Array) w.bytes(value);
    else if ("packed" in value) {
      w.fork();
      for (const v of value.packed) w.uint64(BigInt.asUintN(64, v));
      w.join();
    } else w.bytes(encode(value));
  }
  return w.finish();
}

/** Reads every field of `bytes` by number; varints as unsigned 64-bit, the rest as raw bytes. */
function readFields(bytes: Uint8Array): Map<number, { type: WireType; value: bigint | Uint8Array }[]> {
  const fields = new Map<number, { type: WireType; value: bigint | Uint8Array }[]>();
  const reader = new BinaryReader(bytes);
  while (reader.pos < reader.len) {
    const [no, type] = reader.tag();
    const value = type === VARINT ? BigInt(reader.uint64()) : type === LEN ? reader.bytes() : reader.skip(type);
    fields.set(no, [...(fields.get(no) ?? []), { type, value }]);
  }
  return fields;
}

/** Asserts that `bytes` carries exactly the fields of `wire`, descending into nested messages. */
function assertWire(bytes: Uint8Array, wire: Wire, path = "$"): void {
  const actual = readFields(bytes);
  const expected = new Map<number, Field[]>();
  for (const field of wire) expected.set(field[0], [...(expected.get(field[0]) ?? []), field]);
  assert.deepEqual([...actual.keys()].sort((a, b) => a - b), [...expected.keys()].sort((a, b) => a - b), path);
  for (const [no, fields] of expected) {
    const got = actual.get(no) ?? [];
    assert.equal(got.length, fields.length, `${path}.${no}: count`);
    fields.forEach(([, type, value], i) => {
      const where = `${path}.${no}[${i}]`;
      const { type: gotType, value: gotValue } = got[i]!;
      assert.equal(gotType, type, `${where}: wire type`);
      if (type === VARINT) {
        assert.equal(gotValue, BigInt.asUintN(64, BigInt(value)), where);
      } else if (type === I64) {
        assert.ok(gotValue instanceof Uint8Array);
        assert.equal(new DataView(gotValue.buffer, gotValue.byteOffset, 8).getFloat64(0, true), value.double, where);
      } else {
        assert.ok(gotValue instanceof Uint8Array, where);
        if (typeof value === "string") assert.deepEqual(gotValue, utf8.encode(value), where);
        else if (value instanceof Uint8Array) assert.deepEqual(gotValue, value, where);
        else if ("packed" in value) {
          const reader = new BinaryReader(gotValue);
          const values: bigint[] = [];
          while (reader.pos < reader.len) values.push(BigInt(reader.uint64()));
          assert.deepEqual(values, value.packed.map((v) => BigInt.asUintN(64, v)), where);
        } else assertWire(gotValue, value, where);
      }
    });
  }
}

/** A message built with our types and the wire form upstream's schema gives it. */
type Case<Desc extends DescMessage> = { schema: Desc; init: MessageInitShape<Desc>; wire: Wire };
const wireCase = <Desc extends DescMessage>(c: Case<Desc>): Case<Desc> => c;

// runtime.v1.PodSandboxConfig: metadata = 1, hostname = 2, log_directory = 3, dns_config = 4, port_mappings = 5,
// labels = 6, annotations = 7, linux = 8.
const podSandboxConfig = wireCase({
  schema: PodSandboxConfigSchema,
  init: {
    metadata: { name: "nginx", uid: "uid-1", namespace: "default", attempt: 2 },
    hostname: "nginx-host",
    logDirectory: "/var/log/pods/default_nginx_uid-1",
    dnsConfig: {
      servers: ["10.96.0.10"],
      searches: ["default.svc.cluster.local", "svc.cluster.local"],
      options: ["ndots:5"],
    },
    portMappings: [
      { protocol: 1, containerPort: 53, hostPort: 5353, hostIp: "127.0.0.1" }, // Protocol.UDP = 1
      { containerPort: 80, hostPort: 8080 }, // Protocol.TCP = 0 is the default and is not sent
    ],
    labels: { app: "nginx" },
    annotations: { "kubernetes.io/config.seen": "now" },
    linux: {
      cgroupParent: "/kubepods/besteffort/poduid-1",
      securityContext: {
        namespaceOptions: {
          network: 2, // NamespaceMode.NODE
          pid: 1, // NamespaceMode.CONTAINER
          usernsOptions: {
            uids: [{ hostId: 100000, length: 65536 }],
            gids: [{ hostId: 200000, containerId: 1, length: 1000 }],
          },
        },
        selinuxOptions: { user: "system_u", role: "system_r", type: "container_t", level: "s0:c1,c2" },
        runAsUser: { value: 1000n },
        runAsGroup: { value: 3000n },
        readonlyRootfs: true,
        supplementalGroups: [1n, 2n, 65534n],
        supplementalGroupsPolicy: 1, // SupplementalGroupsPolicy.Strict
        seccomp: { profileType: 2, localhostRef: "profiles/audit.json" }, // ProfileType.Localhost
      },
      sysctls: { "net.ipv4.ip_forward": "1" },
    },
  },
  wire: [
    [1, LEN, [[1, LEN, "nginx"], [2, LEN, "uid-1"], [3, LEN, "default"], [4, VARINT, 2]]],
    [2, LEN, "nginx-host"],
    [3, LEN, "/var/log/pods/default_nginx_uid-1"],
    [4, LEN, [
      [1, LEN, "10.96.0.10"],
      [2, LEN, "default.svc.cluster.local"],
      [2, LEN, "svc.cluster.local"],
      [3, LEN, "ndots:5"],
    ]],
    [5, LEN, [[1, VARINT, 1], [2, VARINT, 53], [3, VARINT, 5353], [4, LEN, "127.0.0.1"]]],
    [5, LEN, [[2, VARINT, 80], [3, VARINT, 8080]]],
    entry(6, "app", "nginx"),
    entry(7, "kubernetes.io/config.seen", "now"),
    [8, LEN, [
      [1, LEN, "/kubepods/besteffort/poduid-1"],
      [2, LEN, [ // LinuxSandboxSecurityContext
        [1, LEN, [ // NamespaceOption: network = 1, pid = 2, ipc = 3, target_id = 4, userns_options = 5
          [1, VARINT, 2],
          [2, VARINT, 1],
          [5, LEN, [ // UserNamespace: mode = 1, uids = 2, gids = 3; IDMapping: host_id, container_id, length
            [2, LEN, [[1, VARINT, 100000], [3, VARINT, 65536]]],
            [3, LEN, [[1, VARINT, 200000], [2, VARINT, 1], [3, VARINT, 1000]]],
          ]],
        ]],
        [2, LEN, [[1, LEN, "system_u"], [2, LEN, "system_r"], [3, LEN, "container_t"], [4, LEN, "s0:c1,c2"]]],
        [3, LEN, [[1, VARINT, 1000]]], // run_as_user: Int64Value
        [8, LEN, [[1, VARINT, 3000]]], // run_as_group
        [4, VARINT, true], // readonly_rootfs
        [5, LEN, { packed: [1n, 2n, 65534n] }], // supplemental_groups
        [11, VARINT, 1], // supplemental_groups_policy
        [9, LEN, [[1, VARINT, 2], [2, LEN, "profiles/audit.json"]]], // seccomp: SecurityProfile
      ]],
      entry(3, "net.ipv4.ip_forward", "1"),
    ]],
  ],
});

// runtime.v1.ContainerConfig: metadata = 1, image = 2, command = 3, args = 4, working_dir = 5, envs = 6,
// mounts = 7, devices = 8, labels = 9, annotations = 10, log_path = 11, stdin = 12, stdin_once = 13, tty = 14,
// linux = 15, windows = 16, CDI_devices = 17, stop_signal = 18.
const containerConfig = wireCase({
  schema: ContainerConfigSchema,
  init: {
    metadata: { name: "app", attempt: 1 },
    image: { image: "docker.io/library/nginx:1.27", userSpecifiedImage: "nginx:1.27", imageRef: "sha256:abc" },
    command: ["/bin/sh"],
    args: ["-c", "sleep 1"],
    workingDir: "/srv",
    envs: [
      { key: "PATH", value: utf8.encode("/usr/bin") },
      { key: "BLOB", value: new Uint8Array([0xff, 0x00, 0x80]) }, // KeyValue.value is bytes since cri-api v0.36
    ],
    mounts: [
      {
        containerPath: "/data",
        hostPath: "/var/lib/kubelet/pods/uid-1/volumes/x",
        readonly: true,
        selinuxRelabel: true,
        propagation: 1, // MountPropagation.PROPAGATION_HOST_TO_CONTAINER
        uidMappings: [{ hostId: 1000, length: 1 }],
        recursiveReadOnly: true,
      },
      { containerPath: "/models", image: { image: "quay.io/x/models:v1" }, imageSubPath: "weights" },
    ],
    devices: [{ containerPath: "/dev/fuse", hostPath: "/dev/fuse", permissions: "rwm" }],
    labels: { "io.kubernetes.container.name": "app" },
    logPath: "app/1.log",
    stdin: true,
    stdinOnce: true,
    tty: true,
    linux: {
      resources: {
        cpuPeriod: 100000n,
        cpuQuota: 50000n,
        cpuShares: 512n,
        memoryLimitInBytes: 268435456n,
        oomScoreAdj: -998n,
        cpusetCpus: "0-1",
        cpusetMems: "0",
        hugepageLimits: [{ pageSize: "2MB", limit: 4194304n }],
        unified: { "memory.high": "200000000" },
        memorySwapLimitInBytes: 536870912n,
      },
      securityContext: {
        capabilities: { addCapabilities: ["NET_ADMIN"], dropCapabilities: ["ALL"] },
        namespaceOptions: { pid: 3, targetId: "ctr-1" }, // NamespaceMode.TARGET
        runAsUsername: "nobody",
        noNewPrivs: true,
        maskedPaths: ["/proc/kcore"],
        readonlyPaths: ["/proc/sys"],
        apparmor: { profileType: 1 }, // ProfileType.Unconfined
        seccompProfilePath: "runtime/default",
      },
    },
    CDIDevices: [{ name: "vendor.com/gpu=0" }],
    stopSignal: 23, // Signal.SIGTERM
  },
  wire: [
    [1, LEN, [[1, LEN, "app"], [2, VARINT, 1]]],
    [2, LEN, [[1, LEN, "docker.io/library/nginx:1.27"], [18, LEN, "nginx:1.27"], [20, LEN, "sha256:abc"]]],
    [3, LEN, "/bin/sh"],
    [4, LEN, "-c"],
    [4, LEN, "sleep 1"],
    [5, LEN, "/srv"],
    [6, LEN, [[1, LEN, "PATH"], [2, LEN, "/usr/bin"]]],
    [6, LEN, [[1, LEN, "BLOB"], [2, LEN, new Uint8Array([0xff, 0x00, 0x80])]]],
    [7, LEN, [
      [1, LEN, "/data"],
      [2, LEN, "/var/lib/kubelet/pods/uid-1/volumes/x"],
      [3, VARINT, true],
      [4, VARINT, true],
      [5, VARINT, 1],
      [6, LEN, [[1, VARINT, 1000], [3, VARINT, 1]]], // uidMappings
      [8, VARINT, true], // recursive_read_only
    ]],
    [7, LEN, [[1, LEN, "/models"], [9, LEN, [[1, LEN, "quay.io/x/models:v1"]]], [10, LEN, "weights"]]],
    [8, LEN, [[1, LEN, "/dev/fuse"], [2, LEN, "/dev/fuse"], [3, LEN, "rwm"]]],
    entry(9, "io.kubernetes.container.name", "app"),
    [11, LEN, "app/1.log"],
    [12, VARINT, true],
    [13, VARINT, true],
    [14, VARINT, true],
    [15, LEN, [
      [1, LEN, [ // LinuxContainerResources
        [1, VARINT, 100000],
        [2, VARINT, 50000],
        [3, VARINT, 512],
        [4, VARINT, 268435456],
        [5, VARINT, -998n], // int64: negative values take ten bytes
        [6, LEN, "0-1"],
        [7, LEN, "0"],
        [8, LEN, [[1, LEN, "2MB"], [2, VARINT, 4194304]]],
        entry(9, "memory.high", "200000000"),
        [10, VARINT, 536870912],
      ]],
      [2, LEN, [ // LinuxContainerSecurityContext
        [1, LEN, [[1, LEN, "NET_ADMIN"], [2, LEN, "ALL"]]],
        [3, LEN, [[2, VARINT, 3], [4, LEN, "ctr-1"]]],
        [6, LEN, "nobody"],
        [11, VARINT, true],
        [13, LEN, "/proc/kcore"],
        [14, LEN, "/proc/sys"],
        [16, LEN, [[1, VARINT, 1]]],
        [10, LEN, "runtime/default"], // seccomp_profile_path, deprecated but still on the wire
      ]],
    ]],
    [17, LEN, [[1, LEN, "vendor.com/gpu=0"]]],
    [18, VARINT, 23],
  ],
});

// runtime.v1.PullImageRequest: image = 1, auth = 2, sandbox_config = 3.
// AuthConfig: username = 1, password = 2, auth = 3, server_address = 4, identity_token = 5, registry_token = 6.
const pullImageRequest = wireCase({
  schema: PullImageRequestSchema,
  init: {
    image: { image: "registry.example/app:1", annotations: { "kubernetes.io/runtimehandler": "crun" } },
    auth: {
      username: "u",
      password: "p",
      auth: "dTpw",
      serverAddress: "registry.example",
      identityToken: "it",
      registryToken: "rt",
    },
    sandboxConfig: { metadata: { name: "p", uid: "u", namespace: "ns" }, linux: { cgroupParent: "/kubepods" } },
  },
  wire: [
    [1, LEN, [[1, LEN, "registry.example/app:1"], entry(2, "kubernetes.io/runtimehandler", "crun")]],
    [2, LEN, [
      [1, LEN, "u"],
      [2, LEN, "p"],
      [3, LEN, "dTpw"],
      [4, LEN, "registry.example"],
      [5, LEN, "it"],
      [6, LEN, "rt"],
    ]],
    [3, LEN, [[1, LEN, [[1, LEN, "p"], [2, LEN, "u"], [3, LEN, "ns"]]], [8, LEN, [[1, LEN, "/kubepods"]]]]],
  ],
});

// runtime.v1.ContainerStatus: id = 1, metadata = 2, state = 3, created_at = 4, started_at = 5, finished_at = 6,
// exit_code = 7, image = 8, image_ref = 9, reason = 10, message = 11, labels = 12, annotations = 13, mounts = 14,
// log_path = 15, resources = 16, image_id = 17, user = 18, stop_signal = 19. Times are Unix nanoseconds.
const containerStatus = wireCase({
  schema: ContainerStatusSchema,
  init: {
    id: "c1",
    metadata: { name: "app" },
    state: 2, // ContainerState.CONTAINER_EXITED
    createdAt: 1_700_000_000_000_000_000n,
    startedAt: 1_700_000_001_000_000_000n,
    finishedAt: 1_700_000_002_500_000_000n,
    exitCode: 137,
    image: { image: "docker.io/library/nginx:1.27" },
    imageRef: "docker.io/library/nginx@sha256:abc",
    reason: "OOMKilled",
    message: "killed",
    labels: { "io.kubernetes.pod.name": "nginx" },
    annotations: { "io.kubernetes.container.restartCount": "0" },
    mounts: [{ containerPath: "/data", hostPath: "/tmp", readonly: true }],
    logPath: "/var/log/pods/x/app/0.log",
    resources: { linux: { memoryLimitInBytes: 1024n } },
    imageId: "sha256:abc",
    user: { linux: { uid: 1000n, gid: 1000n, supplementalGroups: [1000n, 4n] } },
    stopSignal: 13, // Signal.SIGKILL
  },
  wire: [
    [1, LEN, "c1"],
    [2, LEN, [[1, LEN, "app"]]],
    [3, VARINT, 2],
    [4, VARINT, 1_700_000_000_000_000_000n],
    [5, VARINT, 1_700_000_001_000_000_000n],
    [6, VARINT, 1_700_000_002_500_000_000n],
    [7, VARINT, 137],
    [8, LEN, [[1, LEN, "docker.io/library/nginx:1.27"]]],
    [9, LEN, "docker.io/library/nginx@sha256:abc"],
    [10, LEN, "OOMKilled"],
    [11, LEN, "killed"],
    entry(12, "io.kubernetes.pod.name", "nginx"),
    entry(13, "io.kubernetes.container.restartCount", "0"),
    [14, LEN, [[1, LEN, "/data"], [2, LEN, "/tmp"], [3, VARINT, true]]],
    [15, LEN, "/var/log/pods/x/app/0.log"],
    [16, LEN, [[1, LEN, [[4, VARINT, 1024]]]]], // ContainerResources.linux.memory_limit_in_bytes
    [17, LEN, "sha256:abc"],
    [18, LEN, [[1, LEN, [[1, VARINT, 1000], [2, VARINT, 1000], [3, LEN, { packed: [1000n, 4n] }]]]]],
    [19, VARINT, 13],
  ],
});

// runtime.v1.ContainerStatsResponse: stats = 1. ContainerStats: attributes = 1, cpu = 2, memory = 3.
// CpuUsage: timestamp = 1, usage_core_nano_seconds = 2, usage_nano_cores = 3, psi = 4.
// PsiStats: Full = 1, Some = 2. PsiData: Total = 1 (uint64), Avg10 = 2, Avg60 = 3, Avg300 = 4 (double).
const containerStatsResponse = wireCase({
  schema: ContainerStatsResponseSchema,
  init: {
    stats: {
      attributes: { id: "c1", metadata: { name: "app", attempt: 3 } },
      cpu: {
        timestamp: 1_700_000_000_000_000_000n,
        usageCoreNanoSeconds: { value: 18_446_744_073_709_551_615n }, // UInt64Value at its maximum
        psi: { Full: { Total: 5n, Avg10: 0.5, Avg60: 1.25 }, Some: { Avg300: 99.75 } },
      },
      memory: { workingSetBytes: { value: 4096n } },
    },
  },
  wire: [
    [1, LEN, [
      [1, LEN, [[1, LEN, "c1"], [2, LEN, [[1, LEN, "app"], [2, VARINT, 3]]]]],
      [2, LEN, [
        [1, VARINT, 1_700_000_000_000_000_000n],
        [2, LEN, [[1, VARINT, 18_446_744_073_709_551_615n]]],
        [4, LEN, [
          [1, LEN, [[1, VARINT, 5], [2, I64, { double: 0.5 }], [3, I64, { double: 1.25 }]]],
          [2, LEN, [[4, I64, { double: 99.75 }]]],
        ]],
      ]],
      [3, LEN, [[2, LEN, [[1, VARINT, 4096]]]]], // MemoryUsage.working_set_bytes
    ]],
  ],
});

const cases = {
  PodSandboxConfig: podSandboxConfig,
  ContainerConfig: containerConfig,
  PullImageRequest: pullImageRequest,
  ContainerStatus: containerStatus,
  ContainerStatsResponse: containerStatsResponse,
};

for (const [name, { schema, init, wire }] of Object.entries(cases) as [string, Case<DescMessage>][]) {
  Deno.test(`toBinary() writes ${name} with upstream's field numbers and wire types`, () => {
    assertWire(toBinary(schema, create(schema, init)), wire);
  });

  Deno.test(`fromBinary() reads a hand-encoded ${name} by upstream's field numbers`, () => {
    assert.deepEqual(fromBinary(schema, encode(wire)), create(schema, init));
  });
}

Deno.test("fromBinary() keeps fields it does not know and writes them back unchanged", () => {
  // A newer kubelet may send fields this contract lacks; they must survive a decode/encode round trip.
  const bytes = encode([[1, LEN, [[1, LEN, "app"]]], [99, LEN, "future"], [100, VARINT, 7]]);
  const config = fromBinary(ContainerConfigSchema, bytes);
  assert.equal(config.metadata?.name, "app");
  assertWire(toBinary(ContainerConfigSchema, config), [[1, LEN, [[1, LEN, "app"]]], [99, LEN, "future"], [
    100,
    VARINT,
    7,
  ]]);
});

Deno.test("fromBinary() keeps an enum number this contract does not name", () => {
  // Signal 66 is past SIGRTMAX = 65; proto3 enums are open, so the number must come through as is.
  const config = fromBinary(ContainerConfigSchema, encode([[18, VARINT, 66]]));
  assert.equal(config.stopSignal, 66);
});
