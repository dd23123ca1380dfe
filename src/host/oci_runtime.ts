/**
 * Finds the OCI runtimes installed on this host and checks, by running a tiny container with each, whether this user
 * can run containers with it on this host's cgroup layout. crun 1.8 on a hybrid cgroup host (v1 hierarchies plus a
 * cgroup2 mount at /sys/fs/cgroup/unified) fails every container with "cgroups in hybrid mode not supported", while
 * runc works: asking the runtime itself is the only reliable test, and it takes ~20–40 ms.
 * @module
 */
import { runCommand } from "./processes.ts";
import { access, constants, mkdir, mkdtemp, readdir, rm, stat, writeFile } from "node:fs/promises";

/** An OCI runtime found on the host. */
export interface OciRuntime {
  /** The name Podman knows it by ("runc", "crun"). */
  name: string;
  /** Absolute path of the executable. */
  path: string;
}

/** What running a probe container with a runtime gave. */
export type OciRuntimeVerdict =
  | { usable: true }
  | { usable: false; reason: string }
  /** No static helper binary to run inside the probe container: nothing was tried. */
  | { usable: "unknown"; reason: string };

/** Runtimes Podman knows by name, in Podman's order of preference. */
export const KNOWN_RUNTIMES: readonly string[] = ["crun", "runc"];

/** Where Podman's default containers.conf looks for runtimes, besides $PATH. */
const RUNTIME_DIRS = [
  "/usr/bin",
  "/usr/sbin",
  "/usr/local/bin",
  "/usr/local/sbin",
  "/sbin",
  "/bin",
  "/usr/lib/cri-o-runc/sbin",
  "/run/current-system/sw/bin",
];

/**
 * Static executables that can run inside an empty root filesystem: Podman's catatonit (its pause process, installed
 * with Podman) or busybox-static. The probe runs `<helper> --version`.
 */
const STATIC_HELPERS = [
  "/usr/libexec/podman/catatonit",
  "/usr/bin/catatonit",
  "/usr/local/libexec/podman/catatonit",
  "/usr/libexec/catatonit/catatonit",
  "/bin/busybox",
];

/** Returns the first executable file among `candidates`, or undefined. */
export async function firstExecutable(candidates: readonly string[]): Promise<string | undefined> {
  for (const path of candidates) {
    try {
      await access(path, constants.X_OK);
      return path;
    } catch {
      // not there, or not executable: next
    }
  }
  return undefined;
}

/** Resolves `nameOrPath` (a bare runtime name or an absolute path) to an executable path, or undefined. */
export function findExecutable(nameOrPath: string, pathEnv = ""): Promise<string | undefined> {
  if (nameOrPath.startsWith("/")) return firstExecutable([nameOrPath]);
  const dirs = [...pathEnv.split(":").filter((d) => d.startsWith("/")), ...RUNTIME_DIRS];
  return firstExecutable([...new Set(dirs)].map((d) => `${d}/${nameOrPath}`));
}

/** Every known runtime installed on this host, in {@link KNOWN_RUNTIMES} order. */
export async function installedRuntimes(pathEnv = ""): Promise<OciRuntime[]> {
  const found: OciRuntime[] = [];
  for (const name of KNOWN_RUNTIMES) {
    const path = await findExecutable(name, pathEnv);
    if (path) found.push({ name, path });
  }
  return found;
}

/** Options of {@link probeOciRuntime}. */
export interface ProbeOptions {
  /** A directory of this user's where the probe bundle is made and removed again (the runtime directory). */
  workDir: string;
  /** This user's uid and gid, mapped to root inside the probe container. */
  uid: number;
  gid: number;
  /** Kill the probe after this long; default 10 s. */
  timeoutMs?: number;
}

/**
 * Runs a throwaway container with the runtime at `runtimePath`, as Podman would rootless: a user, mount and PID
 * namespace, an empty read-only root with a static helper bound in, no cgroup path. Usable when it exits 0.
 */
export async function probeOciRuntime(runtimePath: string, opts: ProbeOptions): Promise<OciRuntimeVerdict> {
  const helper = await firstExecutable(STATIC_HELPERS);
  if (!helper) {
    return { usable: "unknown", reason: "no static helper (catatonit or busybox) to run in a probe container" };
  }
  await mkdir(opts.workDir, { recursive: true, mode: 0o700 });
  // A process killed mid-probe (SIGKILL, a power cut) never reached the `finally` below: its bundle is removed here.
  await removeAbandonedBundles(opts.workDir);
  const bundle = await mkdtemp(`${opts.workDir}/${PROBE_PREFIX}${process.pid}-`);
  try {
    await mkdir(`${bundle}/rootfs`);
    await writeFile(`${bundle}/config.json`, JSON.stringify(probeBundleConfig(helper, opts.uid, opts.gid)));
    const id = `cri-podman-probe-${process.pid}-${Date.now().toString(36)}`;
    const state = `${bundle}/state`;
    const result = await runCommand(
      runtimePath,
      ["--root", state, "run", "--bundle", bundle, id],
      { timeoutMs: opts.timeoutMs ?? 10_000 },
    );
    // `run` removes the container when it exits; a failed create may leave state behind.
    if (result.code !== 0) {
      await runCommand(runtimePath, ["--root", state, "delete", "--force", id], { timeoutMs: 5_000 });
    }
    if (result.code === 0) return { usable: true };
    return { usable: false, reason: lastLines(result.output) || `exit status ${result.code}` };
  } finally {
    await rm(bundle, { recursive: true, force: true }).catch(() => {});
  }
}

/** Probe bundles are `oci-probe-<pid of the prober>-<random>`. */
const PROBE_PREFIX = "oci-probe-";

/**
 * Removes the probe bundles in `workDir` whose prober is gone: its pid no longer runs (or, for a bundle named
 * without a pid by an earlier version, the bundle is over a minute old). Never fails.
 */
export async function removeAbandonedBundles(workDir: string, isRunning = pidRuns): Promise<string[]> {
  const removed: string[] = [];
  const names = await readdir(workDir).catch(() => [] as string[]);
  for (const name of names) {
    if (!name.startsWith(PROBE_PREFIX)) continue;
    const pid = /^oci-probe-(\d+)-/.exec(name)?.[1];
    let abandoned: boolean;
    if (pid !== undefined) abandoned = Number(pid) !== process.pid && !isRunning(Number(pid));
    else {
      const info = await stat(`${workDir}/${name}`).catch(() => undefined);
      abandoned = info !== undefined && Date.now() - info.mtimeMs > 60_000;
    }
    if (!abandoned) continue;
    await rm(`${workDir}/${name}`, { recursive: true, force: true }).catch(() => {});
    removed.push(name);
  }
  return removed;
}

/** Whether a process with this pid exists (signal 0; EPERM means it exists but is someone else's). */
function pidRuns(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** The OCI config of the probe container (runtime-spec 1.0). Exported for tests. */
export function probeBundleConfig(helper: string, uid: number, gid: number): Record<string, unknown> {
  return {
    ociVersion: "1.0.2",
    process: {
      terminal: false,
      user: { uid: 0, gid: 0 },
      args: ["/probe", "--version"],
      env: ["PATH=/"],
      cwd: "/",
      noNewPrivileges: true,
    },
    root: { path: "rootfs", readonly: true },
    mounts: [
      // runc closes inherited descriptors through /proc/self/fd before it execs the process.
      { destination: "/proc", type: "proc", source: "proc" },
      { destination: "/probe", type: "bind", source: helper, options: ["rbind", "ro", "nosuid", "nodev"] },
    ],
    linux: {
      namespaces: [{ type: "user" }, { type: "mount" }, { type: "pid" }, { type: "ipc" }],
      uidMappings: [{ containerID: 0, hostID: uid, size: 1 }],
      gidMappings: [{ containerID: 0, hostID: gid, size: 1 }],
    },
  };
}

/** The last meaningful lines of a runtime's output, without logrus decorations (`time=… level=error msg="…"`). */
export function lastLines(output: string, count = 2): string {
  const lines = output.split("\n").map((line) => {
    const msg = /\bmsg="((?:[^"\\]|\\.)*)"/.exec(line);
    return (msg ? msg[1]!.replaceAll('\\"', '"') : line).trim();
  }).filter((line) => line !== "" && !/^level=warn|unable to get oom kill count/.test(line));
  return lines.slice(-count).join("; ");
}

/**
 * The probe verdicts of this host's OCI runtimes, each probed once (by path) and kept: a runtime's fitness for the
 * cgroup layout does not change while the host runs.
 */
export class OciRuntimeProbes {
  readonly #opts: ProbeOptions & { pathEnv: string };
  readonly #verdicts = new Map<string, Promise<OciRuntimeVerdict>>();
  #installed: Promise<OciRuntime[]> | undefined;

  /** Probes nothing yet; `pathEnv` is the $PATH runtimes are looked up in. */
  constructor(opts: ProbeOptions & { pathEnv: string }) {
    this.#opts = opts;
  }

  /** The verdict for the runtime at `path`, probing it on first use. */
  verdict(path: string): Promise<OciRuntimeVerdict> {
    let verdict = this.#verdicts.get(path);
    if (!verdict) {
      verdict = probeOciRuntime(path, this.#opts);
      this.#verdicts.set(path, verdict);
    }
    return verdict;
  }

  /** The known runtimes installed here (see {@link KNOWN_RUNTIMES}). */
  installed(): Promise<OciRuntime[]> {
    return this.#installed ??= installedRuntimes(this.#opts.pathEnv);
  }

  /** Probes every installed runtime at once (start-up does this while Podman starts). */
  async probeInstalled(): Promise<Array<OciRuntime & { verdict: OciRuntimeVerdict }>> {
    const runtimes = await this.installed();
    return await Promise.all(runtimes.map(async (rt) => ({ ...rt, verdict: await this.verdict(rt.path) })));
  }

  /** The first installed runtime whose probe container ran, other than `except` (a path). */
  async firstUsable(except?: string): Promise<OciRuntime | undefined> {
    for (const rt of await this.probeInstalled()) {
      if (rt.path !== except && rt.verdict.usable === true) return { name: rt.name, path: rt.path };
    }
    return undefined;
  }
}
