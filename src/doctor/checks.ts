/**
 * The judging half of `cri-podman doctor`: pure functions from the gathered facts to one verdict per prerequisite,
 * each with what was found and, when it is not ok, the fix.
 * @module
 */
import { type CgroupLayout, cgroupLayout, isMounted } from "../host/cgroups.ts";
import { planStorage } from "../host/storage.ts";
import { isSupportedApi, MIN_LIBPOD_API } from "../podman/system.ts";
import type { DoctorFacts, ProbedRuntime } from "./facts.ts";
import {
  freeSubIdRange,
  keyringSetting,
  rangesOf,
  runtimeSetting,
  storageDriverSetting,
  type SubIdRange,
} from "./parse.ts";

/** How a prerequisite stands: ok, a warning (pods run, with a loss), or a failure (pods cannot run). */
export type Verdict = "ok" | "warn" | "fail";

/** The ids of the checks, in the order they run and print. */
export const CHECK_IDS = [
  "podman",
  "subuid",
  "runtime-dir",
  "oci-runtime",
  "storage",
  "tun",
  "network",
  "keyring",
  "mqueue",
  "cgroups",
  "ports",
  "user",
] as const;

/** The id of a check. */
export type CheckId = (typeof CHECK_IDS)[number];

/** One check's outcome: what was found, and for a warning or a failure what it costs and how to fix it. */
export interface Check {
  id: CheckId;
  verdict: Verdict;
  /** What was found, in one sentence. */
  summary: string;
  /** What the finding means, when the summary does not say it all. */
  detail?: string;
  /** How to fix it; present on every warning and failure. */
  fix?: string;
}

/** The subordinate ids rootless Podman maps: enough for images whose files belong to uids up to 65535. */
export const SUB_IDS_NEEDED = 65536;

/** The install line for Podman and the helpers rootless pods need (Debian and Ubuntu). */
export const INSTALL_PODMAN = "sudo apt-get install podman uidmap slirp4netns fuse-overlayfs catatonit";

/**
 * Bytes of the key quota one container's session keyring takes: runc and crun name it after the 64-hex container
 * ID, and the kernel charges the description with its NUL.
 */
export const KEYRING_BYTES = 65;

/** Keys and bytes the user's own keyrings (user and user-session) take before any container runs. */
const KEYRING_BASELINE = { keys: 3, bytes: 40 };

/** Above this many containers at once, the key quota is no practical limit for one node. */
export const KEYRING_PLENTY = 1000;

/** Judges every prerequisite from `facts`, in {@link CHECK_IDS} order. Pure. */
export function runChecks(facts: DoctorFacts): Check[] {
  return [
    checkPodman(facts),
    checkSubIds(facts),
    checkRuntimeDir(facts),
    checkOciRuntime(facts),
    checkStorage(facts),
    checkTun(facts),
    checkNetwork(facts),
    checkKeyring(facts),
    checkMqueue(facts),
    checkCgroups(facts),
    checkPorts(facts),
    checkUser(facts),
  ];
}

/** The cgroup layout the facts show, or undefined when /proc/self/mountinfo could not be read. */
export function layoutOf(facts: DoctorFacts): CgroupLayout | undefined {
  return "value" in facts.mounts ? cgroupLayout(facts.mounts.value) : undefined;
}

function check(id: CheckId, verdict: Verdict, summary: string, more: { detail?: string; fix?: string } = {}): Check {
  const c: Check = { id, verdict, summary };
  if (more.detail !== undefined) c.detail = more.detail;
  if (more.fix !== undefined) c.fix = more.fix;
  return c;
}

function q(value: string): string {
  return JSON.stringify(value);
}

function userLabel(facts: DoctorFacts): string {
  return facts.user.name ?? String(facts.user.uid);
}

function checkPodman(facts: DoctorFacts): Check {
  const { binary, cli, socketPath, embedded, service } = facts.podman;
  const min = MIN_LIBPOD_API.join(".");
  if ("error" in cli) {
    return check("podman", "fail", `Cannot run Podman: ${cli.error}`, {
      fix:
        `correct what the message names (a containers.conf Podman cannot read, say), or reinstall: ${INSTALL_PODMAN}`,
    });
  }
  if (!cli.value.installed) {
    return check("podman", "fail", `Podman is not installed (${q(binary)} not found)`, { fix: INSTALL_PODMAN });
  }
  const version = cli.value.version;
  if (version === undefined) {
    return check("podman", "warn", `${q(`${binary} --version`)} shows no version (${q(cli.value.output)})`, {
      fix: `make podman.binary name Podman ${min} or newer`,
    });
  }
  if (!isSupportedApi(version)) {
    return check("podman", "fail", `Podman ${version} is too old: cri-podman needs libpod API ${min} or newer`, {
      fix: `install Podman ${min} or newer (Debian 12 has 4.3.1): ${INSTALL_PODMAN}`,
    });
  }
  const client = `Podman ${version}`;
  if ("error" in service) {
    return check("podman", "ok", `${client}; could not ask the socket ${q(socketPath)}: ${service.error}`);
  }
  const s = service.value;
  if (s.answers) {
    if (s.apiVersion !== undefined && !isSupportedApi(s.apiVersion)) {
      return check(
        "podman",
        "fail",
        `${client}, but the service on ${q(socketPath)} speaks libpod API ${s.apiVersion} (${min} or newer needed)`,
        { fix: `stop that service and let cri-podman start its own Podman ${version}, or upgrade it` },
      );
    }
    return check(
      "podman",
      "ok",
      `${client}; the service on ${q(socketPath)} answers with libpod API ${s.apiVersion ?? "(unknown)"}`,
    );
  }
  if (!embedded) {
    return check(
      "podman",
      "fail",
      `${client}; nothing answers on ${q(socketPath)} (${s.reason}), and podman.embedded_service is off`,
      {
        fix: `start Podman first (\`podman system service --time=0 unix://${socketPath}\`), or enable ` +
          "podman.embedded_service (--embedded-podman)",
      },
    );
  }
  return check(
    "podman",
    "ok",
    `${client}; nothing answers on ${q(socketPath)} yet (${s.reason}): cri-podman starts its own Podman there`,
  );
}

function checkSubIds(facts: DoctorFacts): Check {
  const { subuid, subgid, newuidmap, newgidmap } = facts.subIds;
  const user = userLabel(facts);
  if (facts.user.uid === 0) return check("subuid", "ok", "Running as root: rootful Podman needs no subordinate ids");
  if ("error" in subuid || "error" in subgid) {
    const error = "error" in subuid ? subuid.error : (subgid as { error: string }).error;
    return check("subuid", "fail", `Cannot read the subordinate id files: ${error}`, {
      fix: 'as root, make "/etc/subuid" and "/etc/subgid" readable (mode 0644)',
    });
  }
  const uids = rangesOf(subuid.value, { name: facts.user.name, uid: facts.user.uid });
  const gids = rangesOf(subgid.value, { name: facts.user.name, uid: facts.user.uid });
  const missing = [uids.length === 0 ? '"/etc/subuid"' : "", gids.length === 0 ? '"/etc/subgid"' : ""]
    .filter((s) => s !== "");
  const tools = [newuidmap ? "" : "newuidmap", newgidmap ? "" : "newgidmap"].filter((s) => s !== "");
  const free = freeSubIdRange([...subuid.value, ...subgid.value]);
  const addRange = `sudo usermod --add-subuids ${free.start}-${free.start + free.count - 1} --add-subgids ` +
    `${free.start}-${free.start + free.count - 1} ${user}`;
  const problems: string[] = [];
  const fixes: string[] = [];
  if (missing.length > 0) {
    problems.push(`${q(user)} has no range in ${missing.join(" or ")}`);
    fixes.push(addRange);
  }
  if (tools.length > 0) {
    problems.push(`the uidmap package is missing (no ${tools.join(", no ")})`);
    fixes.push("sudo apt-get install uidmap");
  }
  if (problems.length > 0) {
    return check("subuid", "fail", `${capitalize(problems.join("; "))}`, {
      detail: "Without subordinate ids, images with files owned by other uids cannot be unpacked",
      fix: fixes.join("; "),
    });
  }
  const uidCount = total(uids);
  const gidCount = total(gids);
  const found = `${uidCount} subordinate uids (${describeRanges(uids)}) and ${gidCount} gids (${
    describeRanges(gids)
  }) for ${q(user)}; newuidmap and newgidmap are installed`;
  if (uidCount < SUB_IDS_NEEDED || gidCount < SUB_IDS_NEEDED) {
    return check("subuid", "warn", `Only ${found}`, {
      detail: `Images with files owned by uids or gids of ${Math.min(uidCount, gidCount)} or more cannot be unpacked`,
      fix: `give ${q(user)} ${SUB_IDS_NEEDED} ids: ${addRange}`,
    });
  }
  return check("subuid", "ok", capitalize(found));
}

function total(ranges: readonly SubIdRange[]): number {
  return ranges.reduce((n, r) => n + r.count, 0);
}

function describeRanges(ranges: readonly SubIdRange[]): string {
  return ranges.map((r) => `${r.start}–${r.start + r.count - 1}`).join(", ");
}

function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

function checkRuntimeDir(facts: DoctorFacts): Check {
  const { path, problem, mode } = facts.runtimeDir;
  if ("error" in problem) {
    return check("runtime-dir", "fail", `Cannot check ${q(path)}: ${problem.error}`, {
      fix: "set XDG_RUNTIME_DIR to a private directory of yours (mode 0700)",
    });
  }
  if (problem.value !== undefined) {
    const [summary, fix] = splitProblem(problem.value);
    return check("runtime-dir", "fail", summary, {
      fix: fix ?? "set XDG_RUNTIME_DIR to a private directory you own (mode 0700)",
    });
  }
  const octal = mode === undefined ? "unknown" : mode.toString(8).padStart(4, "0");
  if (mode !== undefined && (mode & 0o077) !== 0) {
    return check("runtime-dir", "warn", `${q(path)} is yours but lets group or others in (mode ${octal})`, {
      detail: "Podman's and cri-podman's sockets and pid files live there",
      fix: `chmod 0700 ${path}`,
    });
  }
  return check("runtime-dir", "ok", `${q(path)} is yours and private (mode ${octal})`);
}

/** Splits runtimeDirProblem's "what is wrong: how to fix it" message at the fix; the fix is undefined if none shows. */
export function splitProblem(message: string): [string, string | undefined] {
  const m = /^(.*?): ((?:as root, |run `|set XDG_RUNTIME_DIR).*)$/.exec(message);
  return m ? [m[1]!, m[2]!] : [message, undefined];
}

function checkOciRuntime(facts: DoctorFacts): Check {
  const layout = layoutOf(facts);
  const on = layout === undefined ? "on this host" : `on this host (cgroup ${layout})`;
  const { ociRuntimes, podman } = facts;
  if ("error" in ociRuntimes) {
    return check("oci-runtime", "warn", `Could not try the OCI runtimes: ${ociRuntimes.error}`, {
      fix: "check that a temp directory is writable (TMPDIR) and run doctor again",
    });
  }
  const runtimes = ociRuntimes.value;
  if (runtimes.length === 0) {
    return check("oci-runtime", "fail", "No OCI runtime is installed (neither crun nor runc)", {
      fix: "sudo apt-get install runc (runc works on every cgroup layout)",
    });
  }
  const working = runtimes.filter((r) => r.verdict.usable === true);
  const failing = runtimes.filter((r) => r.verdict.usable === false);
  const untried = runtimes.filter((r) => r.verdict.usable === "unknown");
  const service = "value" in podman.service && podman.service.value.answers
    ? podman.service.value.ociRuntime
    : undefined;
  const serviceNote = service === undefined ? "" : `; the Podman service uses ${service}`;
  const failures = failing.map((r) => `${r.name} fails (${reasonOf(r)})`).join("; ");
  if (service !== undefined && failing.some((r) => r.name === service || r.path === service)) {
    const alternative = working[0]?.name;
    return check("oci-runtime", "fail", `The Podman service on the socket uses ${service}, which fails ${on}`, {
      detail: alternative ? `${failures}; ${names(working)} ${working.length > 1 ? "work" : "works"}` : failures,
      fix: alternative
        ? `set runtime = "${alternative}" under [engine] in ~/.config/containers/containers.conf and restart that ` +
          "service, or stop it and let cri-podman start its own"
        : "install runc, set it as runtime under [engine] in ~/.config/containers/containers.conf, restart Podman",
    });
  }
  if (working.length === 0 && failing.length > 0) {
    return check("oci-runtime", "fail", `No OCI runtime runs containers ${on}: ${failures}`, {
      fix: layout === "hybrid"
        ? "sudo apt-get install runc (crun fails on hybrid cgroup layouts), or boot with cgroup v2 " +
          "(systemd.unified_cgroup_hierarchy=1)"
        : "install a runtime that works here (sudo apt-get install runc crun), or boot with cgroup v2 " +
          "(systemd.unified_cgroup_hierarchy=1)",
    });
  }
  if (working.length === 0) {
    return check("oci-runtime", "warn", `Could not try ${names(untried)}: ${reasonOf(untried[0]!)}`, {
      fix: `${INSTALL_PODMAN} (catatonit is the static helper the test container runs)`,
    });
  }
  const works = `OCI runtime${working.length > 1 ? "s" : ""} ${names(working)} ${
    working.length > 1 ? "run" : "runs"
  } containers ${on}`;
  if (failing.length > 0) {
    const good = working[0]!.name;
    // The runtime Podman will use: the service's when one answers, else the configured one.
    const used = service !== undefined
      ? { name: service, from: "the Podman service uses it" }
      : podmanRuntime(facts, runtimes);
    if (used !== undefined && working.some((r) => r.name === used.name || r.path === used.name)) {
      return check("oci-runtime", "ok", `${works}, and ${used.from}; ${failures}`);
    }
    return check("oci-runtime", "warn", `${works}; ${failures}${serviceNote}`, {
      detail: `cri-podman starts its embedded Podman with --runtime ${good} when Podman's configured runtime fails`,
      fix: `a Podman service you run yourself needs runtime = "${good}" under [engine] in ` +
        "~/.config/containers/containers.conf",
    });
  }
  const untriedNote = untried.length > 0 ? `; ${names(untried)} not tried (${reasonOf(untried[0]!)})` : "";
  return check("oci-runtime", "ok", `${works}${untriedNote}${serviceNote}`);
}

/**
 * The runtime Podman is configured with (`[engine] runtime` in containers.conf), else Podman 4's default: crun when
 * installed, else the first installed one. Undefined when containers.conf cannot be read.
 */
function podmanRuntime(
  facts: DoctorFacts,
  runtimes: readonly ProbedRuntime[],
): { name: string; from: string } | undefined {
  if (!("value" in facts.containersConf)) return undefined;
  const setting = runtimeSetting(facts.containersConf.value);
  if (setting.value !== undefined) {
    return { name: setting.value, from: `Podman uses it (runtime = ${q(setting.value)} in ${q(setting.setBy!)})` };
  }
  const fallback = runtimes.find((r) => r.name === "crun") ?? runtimes[0];
  return fallback && { name: fallback.name, from: "it is Podman's default" };
}

function names(runtimes: readonly ProbedRuntime[]): string {
  return runtimes.map((r) => r.name).join(" and ");
}

function reasonOf(r: ProbedRuntime): string {
  return r.verdict.usable === true ? "works" : r.verdict.reason;
}

function checkStorage(facts: DoctorFacts): Check {
  if ("error" in facts.storage) {
    return check("storage", "warn", `Could not read the storage facts: ${facts.storage.error}`, {
      fix: "check that your home directory is readable and run doctor again",
    });
  }
  const { paths, facts: storage, config, fuseOverlayfs } = facts.storage.value;
  const configured = config === undefined ? undefined : storageDriverSetting(config);
  const setIn = config === undefined ? "" : ` in ${q(config.path)}`;
  // What the graph root shows, as if nothing were configured: the driver in use and the vfs hint.
  const inUse = planStorage({ ...storage, envConfig: undefined, configFiles: [] });
  const root = q(paths.graphRoot);
  if (configured && configured.problems.length > 0) {
    // Podman stops on a storage.conf it cannot decode: no pod would start.
    const p = configured.problems[0]!;
    return check("storage", "fail", `Cannot parse ${q(p.path)}: ${p.message}`, {
      detail: "Podman refuses to start with a storage.conf it cannot parse",
      fix: `correct ${q(p.path)}`,
    });
  }
  if (inUse.action === "keep" && inUse.driver !== undefined) {
    if (inUse.driver === "vfs") {
      return check("storage", "warn", `The storage ${root} uses vfs`, {
        detail: "The vfs driver copies a whole image for every container: slow starts and much disk",
        fix: inUse.hint ?? `write driver = "overlay" under [storage] in ${q(paths.userConfig)}`,
      });
    }
    return check("storage", "ok", `The storage ${root} uses ${inUse.driver}`);
  }
  if (storage.graphRootEntries?.includes("libpod")) {
    // Podman has used the storage but stored no layer yet: the driver is chosen already.
    const driver = configured?.value;
    if (driver === "vfs") return vfsConfigured(setIn);
    return check("storage", "ok", `The storage ${root} is in use${driver ? ` (driver ${driver}${setIn})` : ""}`);
  }
  // A new storage: what its first use will make of it.
  if (configured?.value !== undefined) {
    if (configured.value === "vfs") return vfsConfigured(setIn);
    return check("storage", "ok", `New storage; driver ${configured.value} is configured${setIn}`);
  }
  if (config !== undefined || storage.envConfig !== undefined) {
    const file = storage.envConfig ?? config?.path ?? "";
    return check("storage", "ok", `New storage; ${q(file)} sets no driver, so Podman picks one at its first start`);
  }
  if (storage.overlay.works) {
    return check(
      "storage",
      "ok",
      "New storage, and native overlay works (cri-podman will configure overlay at its first start)",
    );
  }
  const fallback = fuseOverlayfs
    ? `Podman falls back to fuse-overlayfs (${q(fuseOverlayfs)}), slower than native overlay`
    : "Podman falls back to vfs, which copies a whole image for every container";
  return check("storage", "warn", `New storage, and native overlay does not work here (${storage.overlay.reason})`, {
    detail: fallback,
    fix: fuseOverlayfs
      ? "native overlay needs a kernel that mounts overlay in a user namespace (Linux 5.13 or newer)"
      : "sudo apt-get install fuse-overlayfs (before the storage is first used)",
  });
}

function vfsConfigured(setIn: string): Check {
  return check("storage", "warn", `The storage driver is vfs${setIn}`, {
    detail: "The vfs driver copies a whole image for every container: slow starts and much disk",
    fix: `write driver = "overlay" under [storage]${setIn} (on a storage in use, \`podman system reset\` first: ` +
      "it deletes every image and container)",
  });
}

function checkTun(facts: DoctorFacts): Check {
  const tun = facts.tun;
  if ("value" in tun && tun.value) return check("tun", "ok", '"/dev/net/tun" opens read-write');
  const why = "error" in tun ? `: ${tun.error}` : "";
  return check("tun", "fail", `"/dev/net/tun" cannot be opened read-write${why}`, {
    detail: "Rootless pod networking (slirp4netns) needs it",
    fix: "sudo chmod 0666 /dev/net/tun (if it is missing: sudo modprobe tun)",
  });
}

function checkNetwork(facts: DoctorFacts): Check {
  const { slirp4netns, netavark, aardvarkDns } = facts.network;
  const missing = [slirp4netns ? "" : "slirp4netns", netavark ? "" : "netavark"].filter((s) => s !== "");
  if (missing.length > 0) {
    return check("network", "fail", `Missing network helper${missing.length > 1 ? "s" : ""}: ${missing.join(", ")}`, {
      detail: "Rootless pods need slirp4netns for their network namespace and netavark for the pod network",
      fix: "sudo apt-get install slirp4netns netavark aardvark-dns",
    });
  }
  const found = `slirp4netns (${q(slirp4netns!)}), netavark (${q(netavark!)})`;
  if (!aardvarkDns) {
    return check("network", "warn", `Found ${found.replace(", netavark", " and netavark")}, but not aardvark-dns`, {
      detail: "Pods cannot resolve each other by name",
      fix: "sudo apt-get install aardvark-dns",
    });
  }
  return check("network", "ok", `Found ${found} and aardvark-dns (${q(aardvarkDns)})`);
}

function checkKeyring(facts: DoctorFacts): Check {
  const { maxkeys, maxbytes, usage } = facts.keyring;
  const containersConf = facts.containersConf;
  const setting = "value" in containersConf ? keyringSetting(containersConf.value) : undefined;
  const problems = setting?.problems ?? [];
  if (problems.length > 0) {
    // Podman 4.3 stops with "reading system config …" on any containers.conf it cannot decode: no pod would start.
    return check("keyring", "fail", problems.map((p) => `Cannot parse ${q(p.path)}: ${p.message}`).join("; "), {
      detail: "Podman refuses to start with a containers.conf it cannot parse",
      fix: problems.map((p) => `correct ${q(p.path)}`).join("; "),
    });
  }
  if (setting?.value === false) {
    return check("keyring", "ok", `Containers get no session keyring (keyring = false in ${q(setting.setBy!)})`);
  }
  const confError = "error" in containersConf ? `; cannot read containers.conf: ${containersConf.error}` : "";
  const root = facts.user.uid === 0 ? "root_" : "";
  if (!("value" in maxkeys) || !("value" in maxbytes)) {
    const error = "error" in maxkeys ? maxkeys.error : "error" in maxbytes ? maxbytes.error : "";
    return check("keyring", "warn", `Cannot read the key quota: ${error}${confError}`, { fix: keyringFix() });
  }
  const n = containersAtOnce(maxkeys.value, maxbytes.value);
  const use = "value" in usage && usage.value !== undefined
    ? ` (${usage.value.keys} keys, ${usage.value.bytes} bytes in use now)`
    : "";
  const found = `Each container gets a session keyring, and kernel.keys.${root}maxkeys = ${maxkeys.value}, ` +
    `${root}maxbytes = ${maxbytes.value}${use}: about ${n} containers (infra containers included) can run at ` +
    `once${confError}`;
  if (n >= KEYRING_PLENTY && confError === "") return check("keyring", "ok", found);
  return check("keyring", "warn", found, {
    detail: 'Beyond that, containers fail with "unable to create session key: disk quota exceeded"',
    fix: keyringFix(),
  });
}

/** How many containers' session keyrings fit in the key quota `maxkeys`/`maxbytes`, the user's own keyrings aside. */
export function containersAtOnce(maxkeys: number, maxbytes: number): number {
  const byKeys = maxkeys - KEYRING_BASELINE.keys;
  const byBytes = Math.floor((maxbytes - KEYRING_BASELINE.bytes) / KEYRING_BYTES);
  return Math.max(0, Math.min(byKeys, byBytes));
}

function keyringFix(): string {
  return "keyring = false under [containers] in ~/.config/containers/containers.conf, or as root " +
    "`sysctl -w kernel.keys.maxkeys=20000 kernel.keys.maxbytes=1400000` (persist it in /etc/sysctl.d/)";
}

function checkMqueue(facts: DoctorFacts): Check {
  if ("error" in facts.mounts) {
    return check("mqueue", "warn", `Cannot read the mounts: ${facts.mounts.error}`, {
      fix: 'check that "/proc" is mounted',
    });
  }
  if (isMounted(facts.mounts.value, "/dev/mqueue", "mqueue")) return check("mqueue", "ok", '"/dev/mqueue" is mounted');
  return check("mqueue", "warn", '"/dev/mqueue" is not mounted', {
    detail: "Pods with hostIPC cannot run (FAILED_PRECONDITION)",
    fix: "as root, `mount -t mqueue mqueue /dev/mqueue` (systemd mounts it at boot)",
  });
}

/** The controllers rootless Podman needs for limits, OOM reports and stats. */
const NEEDED_CONTROLLERS = ["memory", "cpu", "pids"] as const;

const CGROUP_LOSS = "resource limits (CPU/memory) are not applied, OOM kills are not reported as OOMKilled, and " +
  "container and pod stats have no cgroup figures";

const DELEGATE_FIX = "as root, write `[Service]` and `Delegate=cpu cpuset io memory pids` to " +
  "/etc/systemd/system/user@.service.d/delegate.conf, run `systemctl daemon-reload`, and log in again";

function checkCgroups(facts: DoctorFacts): Check {
  const layout = layoutOf(facts);
  if (layout === undefined) {
    return check("cgroups", "warn", 'Cannot tell the cgroup layout ("/proc/self/mountinfo" unreadable)', {
      detail: `Without delegated cgroup v2 controllers, ${CGROUP_LOSS}`,
      fix: 'check that "/proc" is mounted',
    });
  }
  if (layout !== "v2") {
    return check("cgroups", "warn", `Cgroup ${layout}: rootless Podman runs containers without cgroups`, {
      detail: capitalize(CGROUP_LOSS),
      fix: "boot with cgroup v2 (`systemd.unified_cgroup_hierarchy=1` on the kernel command line) and delegate " +
        `controllers to users: ${DELEGATE_FIX}`,
    });
  }
  const d = facts.cgroupDelegation;
  if ("error" in d || d.value === undefined) {
    return check("cgroups", "warn", `Cannot read the delegated controllers${"error" in d ? `: ${d.error}` : ""}`, {
      detail: `Without memory, cpu and pids delegated, ${CGROUP_LOSS}`,
      fix: DELEGATE_FIX,
    });
  }
  const { cgroup, controllers } = d.value;
  const missing = NEEDED_CONTROLLERS.filter((c) => !controllers.includes(c));
  const found = `${controllers.length > 0 ? controllers.join(", ") : "no controllers"} delegated to ${q(cgroup)}`;
  if (missing.length === 0) return check("cgroups", "ok", `Cgroup v2; ${found}`);
  return check("cgroups", "warn", `Cgroup v2; ${found}: ${missing.join(", ")} missing`, {
    detail: capitalize(CGROUP_LOSS),
    fix: DELEGATE_FIX,
  });
}

function checkPorts(facts: DoctorFacts): Check {
  const start = facts.unprivilegedPortStart;
  if ("error" in start) {
    return check("ports", "warn", `Cannot read net.ipv4.ip_unprivileged_port_start: ${start.error}`, {
      fix: "as root, `sysctl -w net.ipv4.ip_unprivileged_port_start=0`",
    });
  }
  if (start.value <= 0) {
    return check("ports", "ok", "Every port is unprivileged (net.ipv4.ip_unprivileged_port_start = 0)");
  }
  return check(
    "ports",
    "warn",
    `Ports below ${start.value} are privileged (net.ipv4.ip_unprivileged_port_start = ${start.value})`,
    {
      detail: `Pods' hostPort mappings below ${start.value} fail`,
      fix: "as root, `sysctl -w net.ipv4.ip_unprivileged_port_start=0` (or 80, or the lowest port needed; persist it " +
        "in /etc/sysctl.d/)",
    },
  );
}

function checkUser(facts: DoctorFacts): Check {
  const { uid, name } = facts.user;
  const who = `${name !== undefined ? `${q(name)} ` : ""}(uid ${uid})`;
  if (uid === 0) {
    return check("user", "warn", `Running as root ${who}`, {
      detail: "cri-podman is made for rootless Podman; these checks describe root's Podman",
      fix: "run cri-podman, and doctor, as the unprivileged user that will run the pods",
    });
  }
  return check("user", "ok", `Running as ${who}, rootless`);
}
