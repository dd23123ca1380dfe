import assert from "node:assert/strict";
import { healthyFacts, HOME, USER_CONTAINERS_CONF } from "../../tests/harness/doctor_host.ts";
import {
  type Check,
  CHECK_IDS,
  type CheckId,
  containersAtOnce,
  INSTALL_PODMAN,
  runChecks,
  splitProblem,
  type Verdict,
} from "./checks.ts";
import type { DoctorFacts, ProbedRuntime } from "./facts.ts";

/** One case: a change to the healthy facts, and what the check `id` must then say. */
interface Case {
  what: string;
  change: (f: DoctorFacts) => void;
  verdict: Verdict;
  summary?: RegExp;
  detail?: RegExp;
  fix?: RegExp;
}

const HYBRID_MOUNTS = [
  { mountPoint: "/sys/fs/cgroup", fsType: "tmpfs", superOptions: ["rw"] },
  { mountPoint: "/sys/fs/cgroup/memory", fsType: "cgroup", superOptions: ["rw", "memory"] },
  { mountPoint: "/sys/fs/cgroup/unified", fsType: "cgroup2", superOptions: ["rw"] },
];

const V1_MOUNTS = [{ mountPoint: "/sys/fs/cgroup/memory", fsType: "cgroup", superOptions: ["rw", "memory"] }];

const CRUN_FAILS: ProbedRuntime = {
  name: "crun",
  path: "/usr/bin/crun",
  verdict: { usable: false, reason: "cgroups in hybrid mode not supported" },
};
const RUNC_WORKS: ProbedRuntime = { name: "runc", path: "/usr/sbin/runc", verdict: { usable: true } };
const RUNC_FAILS: ProbedRuntime = { ...RUNC_WORKS, verdict: { usable: false, reason: "permission denied" } };

function setRuntimes(f: DoctorFacts, runtimes: ProbedRuntime[]): void {
  f.ociRuntimes = { value: runtimes };
}

function setContainersConf(f: DoctorFacts, ...texts: string[]): void {
  f.containersConf = { value: texts.map((text, i) => ({ path: `/etc/containers/containers.conf.d/${i}.conf`, text })) };
}

function serviceAnswers(f: DoctorFacts, apiVersion = "4.3.1", ociRuntime?: string): void {
  f.podman.service = { value: { answers: true, apiVersion, ociRuntime } };
}

function storage(f: DoctorFacts) {
  if (!("value" in f.storage)) throw new Error("fixture without storage");
  return f.storage.value;
}

const CASES: Record<CheckId, Case[]> = {
  podman: [
    {
      what: "an installed Podman and a silent socket",
      change: () => {},
      verdict: "ok",
      summary: /^Podman 4\.3\.1; nothing answers on ".*podman\.sock" yet .*cri-podman starts its own Podman there$/,
    },
    {
      what: "a service that answers",
      change: (f) => serviceAnswers(f, "4.9.3"),
      verdict: "ok",
      summary: /the service on ".*" answers with libpod API 4\.9\.3/,
    },
    {
      what: "a socket that could not be asked",
      change: (f) => f.podman.service = { error: "boom" },
      verdict: "ok",
      summary: /could not ask the socket .*: boom/,
    },
    {
      what: "no Podman",
      change: (f) => f.podman.cli = { value: { installed: false } },
      verdict: "fail",
      summary: /^Podman is not installed \("podman" not found\)$/,
      fix: new RegExp(`^${INSTALL_PODMAN}$`),
    },
    {
      what: "a Podman that cannot run",
      change: (f) => f.podman.cli = { error: '"podman --version" failed: exec format error' },
      verdict: "fail",
      summary: /exec format error/,
      fix: /apt-get install podman/,
    },
    {
      what: "Podman 4.2",
      change: (f) => f.podman.cli = { value: { installed: true, version: "4.2.0", output: "podman version 4.2.0" } },
      verdict: "fail",
      summary: /^Podman 4\.2\.0 is too old: cri-podman needs libpod API 4\.3 or newer$/,
      fix: /4\.3 or newer/,
    },
    {
      what: "Podman 5",
      change: (f) => f.podman.cli = { value: { installed: true, version: "5.0.1", output: "podman version 5.0.1" } },
      verdict: "ok",
      summary: /^Podman 5\.0\.1;/,
    },
    {
      what: "an output without a version",
      change: (f) => f.podman.cli = { value: { installed: true, version: undefined, output: "huh" } },
      verdict: "warn",
      summary: /shows no version \("huh"\)/,
      fix: /podman\.binary/,
    },
    {
      what: "a service with an old API",
      change: (f) => serviceAnswers(f, "4.2.1"),
      verdict: "fail",
      summary: /speaks libpod API 4\.2\.1 \(4\.3 or newer needed\)/,
    },
    {
      what: "a silent socket with the embedded service off",
      change: (f) => f.podman.embedded = false,
      verdict: "fail",
      summary: /podman\.embedded_service is off/,
      fix: /podman system service --time=0 unix:\/\/\/run\/user\/1000\/podman\/podman\.sock/,
    },
  ],
  subuid: [
    {
      what: "65536 ids each and the uidmap tools",
      change: () => {},
      verdict: "ok",
      summary: /^65536 subordinate uids \(100000–165535\) and 65536 gids \(100000–165535\) for "alice"/,
    },
    {
      what: "ranges named by uid, in two parts",
      change: (f) => {
        const ranges = [{ owner: "1000", start: 100000, count: 32768 }, { owner: "1000", start: 300000, count: 32768 }];
        f.subIds.subuid = { value: ranges };
        f.subIds.subgid = { value: ranges };
      },
      verdict: "ok",
      summary: /^65536 subordinate uids \(100000–132767, 300000–332767\)/,
    },
    {
      what: "no subuid range, suggesting a free one",
      change: (f) => {
        f.subIds.subuid = { value: [{ owner: "bob", start: 100000, count: 65536 }] };
      },
      verdict: "fail",
      summary: /^"alice" has no range in "\/etc\/subuid"$/,
      detail: /cannot be unpacked/,
      fix: /^sudo usermod --add-subuids 165536-231071 --add-subgids 165536-231071 alice$/,
    },
    {
      what: "neither file",
      change: (f) => {
        f.subIds.subuid = { value: [] };
        f.subIds.subgid = { value: [] };
      },
      verdict: "fail",
      summary: /no range in "\/etc\/subuid" or "\/etc\/subgid"/,
      fix: /--add-subuids 100000-165535/,
    },
    {
      what: "no newgidmap",
      change: (f) => f.subIds.newgidmap = undefined,
      verdict: "fail",
      summary: /^The uidmap package is missing \(no newgidmap\)$/,
      fix: /^sudo apt-get install uidmap$/,
    },
    {
      what: "a small range",
      change: (f) => f.subIds.subgid = { value: [{ owner: "alice", start: 100000, count: 1000 }] },
      verdict: "warn",
      summary: /^Only 65536 subordinate uids .* and 1000 gids/,
      detail: /of 1000 or more cannot be unpacked/,
      fix: /usermod --add-subuids/,
    },
    {
      what: "an unreadable /etc/subuid",
      change: (f) => f.subIds.subuid = { error: "EACCES: permission denied" },
      verdict: "fail",
      summary: /Cannot read the subordinate id files: EACCES/,
    },
    {
      what: "root, which needs none",
      change: (f) => {
        f.user = { uid: 0, gid: 0, name: "root" };
        f.subIds.subuid = { value: [] };
      },
      verdict: "ok",
      summary: /rootful Podman needs no subordinate ids/,
    },
  ],
  "runtime-dir": [
    {
      what: "a private directory",
      change: () => {},
      verdict: "ok",
      summary: /^"\/run\/user\/1000" is yours and private \(mode 0700\)$/,
    },
    {
      what: "a directory others may enter",
      change: (f) => f.runtimeDir.mode = 0o755,
      verdict: "warn",
      summary: /lets group or others in \(mode 0755\)/,
      fix: /^chmod 0700 \/run\/user\/1000$/,
    },
    {
      what: "a missing directory, with runtimeDirProblem's fix split off",
      change: (f) =>
        f.runtimeDir.problem = {
          value: 'XDG_RUNTIME_DIR "/run/user/1000" does not exist: as root, run `install -d -m 0700 -o alice -g ' +
            "alice /run/user/1000` (a systemd login session creates it), or set XDG_RUNTIME_DIR to a private " +
            "directory of yours",
        },
      verdict: "fail",
      summary: /^XDG_RUNTIME_DIR "\/run\/user\/1000" does not exist$/,
      fix: /^as root, run `install -d -m 0700 -o alice/,
    },
    {
      what: "a directory that could not be checked",
      change: (f) => f.runtimeDir.problem = { error: "boom" },
      verdict: "fail",
      summary: /Cannot check "\/run\/user\/1000": boom/,
    },
  ],
  "oci-runtime": [
    {
      what: "every runtime working",
      change: () => {},
      verdict: "ok",
      summary: /^OCI runtimes crun and runc run containers on this host \(cgroup v2\)$/,
    },
    {
      what: "crun failing while Podman is set to runc",
      change: (f) => {
        f.mounts = { value: HYBRID_MOUNTS };
        setRuntimes(f, [CRUN_FAILS, RUNC_WORKS]);
        setContainersConf(f, '[engine]\nruntime = "runc"\n');
      },
      verdict: "ok",
      summary:
        /^OCI runtime runc runs containers on this host \(cgroup hybrid\), and Podman uses it \(runtime = "runc" in ".*0\.conf"\); crun fails \(cgroups in hybrid mode not supported\)$/,
    },
    {
      what: "crun, Podman's default, failing while runc works",
      change: (f) => {
        f.mounts = { value: HYBRID_MOUNTS };
        setRuntimes(f, [CRUN_FAILS, RUNC_WORKS]);
      },
      verdict: "warn",
      summary: /^OCI runtime runc runs containers .*; crun fails \(cgroups in hybrid mode not supported\)$/,
      detail: /starts its embedded Podman with --runtime runc/,
      fix: /runtime = "runc" under \[engine\] in ~\/\.config\/containers\/containers\.conf/,
    },
    {
      what: "a service using the working runtime",
      change: (f) => {
        setRuntimes(f, [CRUN_FAILS, RUNC_WORKS]);
        serviceAnswers(f, "4.3.1", "runc");
      },
      verdict: "ok",
      summary: /and the Podman service uses it; crun fails/,
    },
    {
      what: "a service using the failing runtime",
      change: (f) => {
        setRuntimes(f, [CRUN_FAILS, RUNC_WORKS]);
        serviceAnswers(f, "4.3.1", "crun");
      },
      verdict: "fail",
      summary: /^The Podman service on the socket uses crun, which fails/,
      fix: /runtime = "runc" under \[engine\].*restart that service/,
    },
    {
      what: "no runtime working on a hybrid host",
      change: (f) => {
        f.mounts = { value: HYBRID_MOUNTS };
        setRuntimes(f, [CRUN_FAILS]);
      },
      verdict: "fail",
      summary: /^No OCI runtime runs containers on this host \(cgroup hybrid\): crun fails/,
      fix: /apt-get install runc \(crun fails on hybrid/,
    },
    {
      what: "no runtime working elsewhere",
      change: (f) => setRuntimes(f, [RUNC_FAILS]),
      verdict: "fail",
      summary: /runc fails \(permission denied\)/,
      fix: /install a runtime that works here/,
    },
    {
      what: "no runtime installed",
      change: (f) => setRuntimes(f, []),
      verdict: "fail",
      summary: /^No OCI runtime is installed/,
      fix: /apt-get install runc/,
    },
    {
      what: "runtimes that could not be tried",
      change: (f) =>
        setRuntimes(f, [{ name: "runc", path: "/usr/sbin/runc", verdict: { usable: "unknown", reason: "no helper" } }]),
      verdict: "warn",
      summary: /^Could not try runc: no helper$/,
      fix: /catatonit/,
    },
    {
      what: "a probe that broke",
      change: (f) => f.ociRuntimes = { error: "EROFS" },
      verdict: "warn",
      summary: /Could not try the OCI runtimes: EROFS/,
    },
  ],
  storage: [
    {
      what: "a new storage where native overlay works",
      change: () => {},
      verdict: "ok",
      summary: /^New storage, and native overlay works \(cri-podman will configure overlay at its first start\)$/,
    },
    {
      what: "overlay in use",
      change: (f) => storage(f).facts.graphRootEntries = ["libpod", "overlay", "overlay-images"],
      verdict: "ok",
      summary: new RegExp(`^The storage "${HOME}/\\.local/share/containers/storage" uses overlay$`),
    },
    {
      what: "overlay in use, configured in a file",
      change: (f) => {
        storage(f).facts.graphRootEntries = ["libpod", "overlay"];
        storage(f).facts.configFiles = [`${HOME}/.config/containers/storage.conf`];
        storage(f).facts.overlay = { works: false, reason: "not tested" };
        storage(f).config = {
          path: `${HOME}/.config/containers/storage.conf`,
          text: '[storage]\ndriver = "overlay"\n',
        };
      },
      verdict: "ok",
      summary: /uses overlay$/,
    },
    {
      what: "vfs in use",
      change: (f) => storage(f).facts.graphRootEntries = ["libpod", "vfs", "vfs-images"],
      verdict: "warn",
      summary: /uses vfs$/,
      detail: /copies a whole image/,
      fix: /podman system reset.*driver = "overlay"/,
    },
    {
      what: "a storage Podman used but that holds no layer yet",
      change: (f) => storage(f).facts.graphRootEntries = ["libpod", "storage.lock"],
      verdict: "ok",
      summary: /is in use$/,
    },
    {
      what: "a new storage without native overlay, fuse-overlayfs installed",
      change: (f) => storage(f).facts.overlay = { works: false, reason: "operation not permitted" },
      verdict: "warn",
      summary: /^New storage, and native overlay does not work here \(operation not permitted\)$/,
      detail: /falls back to fuse-overlayfs/,
      fix: /5\.13/,
    },
    {
      what: "a new storage without native overlay or fuse-overlayfs",
      change: (f) => {
        storage(f).facts.overlay = { works: false, reason: "operation not permitted" };
        storage(f).fuseOverlayfs = undefined;
      },
      verdict: "warn",
      detail: /falls back to vfs/,
      fix: /apt-get install fuse-overlayfs/,
    },
    {
      what: "a new storage configured for vfs",
      change: (f) => {
        storage(f).facts.configFiles = ["/etc/containers/storage.conf"];
        storage(f).config = { path: "/etc/containers/storage.conf", text: '[storage]\ndriver = "vfs"\n' };
      },
      verdict: "warn",
      summary: /^The storage driver is vfs in "\/etc\/containers\/storage\.conf"$/,
      fix: /driver = "overlay"/,
    },
    {
      what: "a new storage configured for overlay",
      change: (f) => {
        storage(f).facts.configFiles = ["/etc/containers/storage.conf"];
        storage(f).config = { path: "/etc/containers/storage.conf", text: '[storage]\ndriver = "overlay"\n' };
      },
      verdict: "ok",
      summary: /^New storage; driver overlay is configured in "\/etc\/containers\/storage\.conf"$/,
    },
    {
      what: "a storage.conf that does not parse",
      change: (f) => {
        storage(f).facts.configFiles = ["/etc/containers/storage.conf"];
        storage(f).config = { path: "/etc/containers/storage.conf", text: "[storage\n" };
      },
      verdict: "fail",
      summary: /^Cannot parse "\/etc\/containers\/storage\.conf"/,
      detail: /Podman refuses to start/,
    },
    {
      what: "facts that could not be read",
      change: (f) => f.storage = { error: "EACCES" },
      verdict: "warn",
      summary: /EACCES/,
    },
  ],
  tun: [
    { what: "a usable device", change: () => {}, verdict: "ok", summary: /opens read-write/ },
    {
      what: "a device we may not open",
      change: (f) => f.tun = { value: false },
      verdict: "fail",
      summary: /^"\/dev\/net\/tun" cannot be opened read-write$/,
      detail: /slirp4netns/,
      fix: /^sudo chmod 0666 \/dev\/net\/tun/,
    },
  ],
  network: [
    { what: "every helper", change: () => {}, verdict: "ok", summary: /slirp4netns.*netavark.*aardvark-dns/ },
    {
      what: "no slirp4netns",
      change: (f) => f.network.slirp4netns = undefined,
      verdict: "fail",
      summary: /^Missing network helper: slirp4netns$/,
      fix: /apt-get install slirp4netns netavark aardvark-dns/,
    },
    {
      what: "neither slirp4netns nor netavark",
      change: (f) => {
        f.network.slirp4netns = undefined;
        f.network.netavark = undefined;
      },
      verdict: "fail",
      summary: /^Missing network helpers: slirp4netns, netavark$/,
    },
    {
      what: "no aardvark-dns",
      change: (f) => f.network.aardvarkDns = undefined,
      verdict: "warn",
      summary: /but not aardvark-dns$/,
      detail: /resolve each other by name/,
      fix: /apt-get install aardvark-dns/,
    },
  ],
  keyring: [
    {
      what: "keyring = false",
      change: () => {},
      verdict: "ok",
      summary: new RegExp(`^Containers get no session keyring \\(keyring = false in "${USER_CONTAINERS_CONF}"\\)$`),
    },
    {
      what: "the default keyring and quota",
      change: (f) => f.containersConf = { value: [] },
      verdict: "warn",
      summary:
        /maxkeys = 200, maxbytes = 20000 \(3 keys, 37 bytes in use now\): about 197 containers \(infra containers included\) can run at once$/,
      detail: /disk quota exceeded/,
      fix: /keyring = false under \[containers\].*sysctl -w kernel\.keys\.maxkeys=20000/,
    },
    {
      what: "a later file turning the keyring on again",
      change: (f) => setContainersConf(f, "[containers]\nkeyring = false\n", "[containers]\nkeyring = true\n"),
      verdict: "warn",
      summary: /about 197 containers/,
    },
    {
      what: "a raised quota",
      change: (f) => {
        f.containersConf = { value: [] };
        f.keyring.maxkeys = { value: 20000 };
        f.keyring.maxbytes = { value: 1400000 };
      },
      verdict: "ok",
      summary: /about 19997 containers/,
    },
    {
      what: "a containers.conf that does not parse",
      change: (f) =>
        f.containersConf = {
          value: [
            { path: USER_CONTAINERS_CONF, text: "[containers]\nkeyring = false\n" },
            { path: `${USER_CONTAINERS_CONF}.d/x.conf`, text: "[containers\n" },
          ],
        },
      verdict: "fail",
      summary: /^Cannot parse ".*\/x\.conf": /,
      detail: /Podman refuses to start/,
      fix: /^correct ".*\/x\.conf"$/,
    },
    {
      what: "an unreadable quota",
      change: (f) => {
        f.containersConf = { value: [] };
        f.keyring.maxkeys = { error: "ENOENT" };
      },
      verdict: "warn",
      summary: /Cannot read the key quota: ENOENT/,
    },
  ],
  mqueue: [
    { what: "a mounted /dev/mqueue", change: () => {}, verdict: "ok", summary: /^"\/dev\/mqueue" is mounted$/ },
    {
      what: "no /dev/mqueue",
      change: (f) => f.mounts = { value: HYBRID_MOUNTS },
      verdict: "warn",
      summary: /^"\/dev\/mqueue" is not mounted$/,
      detail: /hostIPC cannot run \(FAILED_PRECONDITION\)/,
      fix: /mount -t mqueue mqueue \/dev\/mqueue/,
    },
    {
      what: "unreadable mounts",
      change: (f) => f.mounts = { error: "ENOENT" },
      verdict: "warn",
      summary: /Cannot read the mounts/,
    },
  ],
  cgroups: [
    {
      what: "memory, cpu and pids delegated",
      change: () => {},
      verdict: "ok",
      summary:
        /^Cgroup v2; cpuset, cpu, io, memory, pids delegated to "\/user\.slice\/user-1000\.slice\/user@1000\.service"$/,
    },
    {
      what: "memory not delegated",
      change: (f) =>
        f.cgroupDelegation = { value: { cgroup: "/user.slice/user-1000.slice", controllers: ["cpu", "pids"] } },
      verdict: "warn",
      summary: /: memory missing$/,
      detail: /^Resource limits.*OOMKilled.*stats/,
      fix: /Delegate=cpu cpuset io memory pids/,
    },
    {
      what: "nothing delegated",
      change: (f) => f.cgroupDelegation = { value: { cgroup: "/", controllers: [] } },
      verdict: "warn",
      summary: /no controllers delegated to "\/": memory, cpu, pids missing$/,
    },
    {
      what: "a hybrid layout",
      change: (f) => f.mounts = { value: HYBRID_MOUNTS },
      verdict: "warn",
      summary: /^Cgroup hybrid: rootless Podman runs containers without cgroups$/,
      detail: /^Resource limits \(CPU\/memory\) are not applied/,
      fix: /systemd\.unified_cgroup_hierarchy=1.*Delegate=cpu cpuset io memory pids/,
    },
    {
      what: "a v1 layout",
      change: (f) => f.mounts = { value: V1_MOUNTS },
      verdict: "warn",
      summary: /^Cgroup v1:/,
    },
    {
      what: "controllers that could not be read",
      change: (f) => f.cgroupDelegation = { error: "ENOENT" },
      verdict: "warn",
      summary: /Cannot read the delegated controllers: ENOENT/,
    },
  ],
  ports: [
    { what: "every port unprivileged", change: () => {}, verdict: "ok", summary: /^Every port is unprivileged/ },
    {
      what: "ports below 1024 privileged",
      change: (f) => f.unprivilegedPortStart = { value: 1024 },
      verdict: "warn",
      summary: /^Ports below 1024 are privileged \(net\.ipv4\.ip_unprivileged_port_start = 1024\)$/,
      detail: /^Pods' hostPort mappings below 1024 fail$/,
      fix: /sysctl -w net\.ipv4\.ip_unprivileged_port_start=0/,
    },
    {
      what: "an unreadable setting",
      change: (f) => f.unprivilegedPortStart = { error: "ENOENT" },
      verdict: "warn",
      summary: /Cannot read/,
    },
  ],
  user: [
    {
      what: "an unprivileged user",
      change: () => {},
      verdict: "ok",
      summary: /^Running as "alice" \(uid 1000\), rootless$/,
    },
    {
      what: "root",
      change: (f) => f.user = { uid: 0, gid: 0, name: "root" },
      verdict: "warn",
      summary: /^Running as root "root" \(uid 0\)$/,
      fix: /unprivileged user/,
    },
  ],
};

function find(checks: readonly Check[], id: CheckId): Check {
  const found = checks.find((c) => c.id === id);
  assert.ok(found, `no check ${id}`);
  return found;
}

Deno.test("runChecks() on the healthy facts", async (t) => {
  await t.step("runChecks() answers every check once, in CHECK_IDS order, all ok, without a fix", () => {
    const checks = runChecks(healthyFacts());
    assert.deepEqual(checks.map((c) => c.id), [...CHECK_IDS]);
    for (const c of checks) {
      assert.equal(c.verdict, "ok", `${c.id}: ${c.summary}`);
      assert.equal(c.fix, undefined, c.id);
    }
  });
});

for (const id of CHECK_IDS) {
  Deno.test(`check ${id}`, async (t) => {
    for (const c of CASES[id]) {
      await t.step(`${id} is ${c.verdict} for ${c.what}`, () => {
        const facts = healthyFacts();
        c.change(facts);
        const got = find(runChecks(facts), id);
        assert.equal(got.verdict, c.verdict, got.summary);
        if (c.summary) assert.match(got.summary, c.summary);
        if (c.detail) assert.match(got.detail ?? "", c.detail);
        if (got.detail !== undefined) assert.match(got.detail, /^[A-Z"]|^(cri-podman|crun|runc) /, "sentence case");
        if (c.fix) assert.match(got.fix ?? "", c.fix);
        if (c.verdict !== "ok") assert.ok(got.fix, `a ${c.verdict} has a fix`);
        assert.ok(!got.summary.includes("\n"), "one line");
        assert.match(got.summary, /^[A-Z"0-9]/, "sentence case, or a value first");
      });
    }
  });
}

Deno.test("every check has an ok and a not-ok case", () => {
  for (const id of CHECK_IDS) {
    const verdicts = new Set(CASES[id].map((c) => c.verdict));
    assert.ok(verdicts.has("ok") && verdicts.size > 1, id);
  }
});

Deno.test("other checks stay ok when one fact breaks", () => {
  const facts = healthyFacts();
  facts.tun = { value: false };
  const checks = runChecks(facts);
  assert.deepEqual(checks.filter((c) => c.verdict !== "ok").map((c) => c.id), ["tun"]);
});

Deno.test("containersAtOnce()", async (t) => {
  const cases: [number, number, number][] = [
    [200, 20000, 197],
    [20000, 20000, 307],
    [20000, 1400000, 19997],
    [2, 20000, 0],
  ];
  for (const [maxkeys, maxbytes, n] of cases) {
    await t.step(`containersAtOnce(${maxkeys}, ${maxbytes}) is ${n}`, () => {
      assert.equal(containersAtOnce(maxkeys, maxbytes), n);
    });
  }
});

Deno.test("splitProblem()", async (t) => {
  await t.step("splitProblem() splits at the fix", () => {
    assert.deepEqual(splitProblem('XDG_RUNTIME_DIR "/x" is not writable by you: run `chmod 0700 /x`'), [
      'XDG_RUNTIME_DIR "/x" is not writable by you',
      "run `chmod 0700 /x`",
    ]);
  });
  await t.step("splitProblem() keeps a message without a fix whole", () => {
    assert.deepEqual(splitProblem("something odd: very odd"), ["something odd: very odd", undefined]);
  });
});
