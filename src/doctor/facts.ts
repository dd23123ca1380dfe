/**
 * The I/O half of `cri-podman doctor`: gathers every fact the checks judge into one plain object. Each probe catches
 * its own failure and records it, so one broken probe never hides the others, and the independent probes run at
 * once. Nothing here writes to the user's Podman configuration or storage: `podman --version` is the only Podman
 * command run (`podman version` and `podman info` create a new user's storage, with vfs, before cri-podman could
 * choose overlay), and the overlay test mount goes in a temp directory that is removed again.
 * @module
 */
import { readdir, readFile, stat } from "node:fs/promises";
import { tmpdir, userInfo } from "node:os";
import type { Config } from "../config/schema.ts";
import { cgroupLayout, delegationCgroup, type MountEntry, parseMountinfo, unifiedCgroupPath } from "../host/cgroups.ts";
import {
  findExecutable,
  firstExecutable,
  lastLines,
  type OciRuntime,
  OciRuntimeProbes,
  type OciRuntimeVerdict,
} from "../host/oci_runtime.ts";
import { resolveRuntimeDir, runtimeDirProblem } from "../host/runtime_dir.ts";
import { readStorageFacts, type StorageFacts, type StoragePaths, storagePaths } from "../host/storage.ts";
import { tunUsable } from "../host/tun.ts";
import { libpodApiVersion } from "../podman/system.ts";
import type { LibpodInfo, LibpodVersion } from "../podman/types.ts";
import {
  type KeyUsage,
  parseKeyUsers,
  parsePodmanVersion,
  parseSubIds,
  type SubIdRange,
  type TextFile,
} from "./parse.ts";

/** What a probe found, or why it could not find out. */
export type Probe<T> = { value: T } | { error: string };

/** What `podman --version` said: not installed, or its version (undefined when the output shows none). */
export type PodmanCliFacts = { installed: false } | { installed: true; version: string | undefined; output: string };

/** Whether a Podman service answers on the configured socket, and what it said about itself. */
export type PodmanServiceFacts =
  | { answers: false; reason: string }
  | { answers: true; apiVersion: string | undefined; ociRuntime: string | undefined };

/** An installed OCI runtime and what running a probe container with it gave. */
export type ProbedRuntime = OciRuntime & { verdict: OciRuntimeVerdict };

/** Everything `doctor` judges, gathered once. */
export interface DoctorFacts {
  user: { uid: number; gid: number; name: string | undefined };
  podman: {
    /** `podman.binary` of the configuration. */
    binary: string;
    cli: Probe<PodmanCliFacts>;
    /** `podman.socket` and `podman.embedded_service` of the configuration, and what answers there. */
    socketPath: string;
    embedded: boolean;
    service: Probe<PodmanServiceFacts>;
  };
  subIds: {
    /** Every range in /etc/subuid and /etc/subgid (a missing file has none). */
    subuid: Probe<SubIdRange[]>;
    subgid: Probe<SubIdRange[]>;
    newuidmap: string | undefined;
    newgidmap: string | undefined;
  };
  runtimeDir: {
    path: string;
    fromEnv: boolean;
    /** runtimeDirProblem's message; undefined when the directory serves. */
    problem: Probe<string | undefined>;
    /** Permission bits; undefined when it cannot be stat'ed. */
    mode: number | undefined;
  };
  /** `/proc/self/mountinfo`: the cgroup layout and /dev/mqueue come from here. */
  mounts: Probe<MountEntry[]>;
  ociRuntimes: Probe<ProbedRuntime[]>;
  storage: Probe<{
    paths: StoragePaths;
    facts: StorageFacts;
    /** The storage.conf Podman reads the driver from (CONTAINERS_STORAGE_CONF, the user's, then the system's). */
    config: TextFile | undefined;
    fuseOverlayfs: string | undefined;
  }>;
  tun: Probe<boolean>;
  network: { slirp4netns: string | undefined; netavark: string | undefined; aardvarkDns: string | undefined };
  keyring: {
    /** kernel.keys.maxkeys and maxbytes (root_maxkeys and root_maxbytes for uid 0). */
    maxkeys: Probe<number>;
    maxbytes: Probe<number>;
    /** The user's line of /proc/key-users; undefined when the user owns no keys. */
    usage: Probe<KeyUsage | undefined>;
  };
  /** Every containers.conf Podman reads, in its order (later files win): its runtime and keyring settings. */
  containersConf: Probe<TextFile[]>;
  /** On cgroup v2, the cgroup whose controllers the user's containers can get, and those controllers. */
  cgroupDelegation: Probe<{ cgroup: string; controllers: string[] } | undefined>;
  unprivilegedPortStart: Probe<number>;
}

/** Where and as whom `doctor` looks. */
export interface DoctorHost {
  config: Config;
  env: Readonly<Record<string, string>>;
  uid: number;
  gid: number;
}

/** The libpod API prefix: cri-podman's own client speaks v4 too. */
const LIBPOD = "http://d/v4.0.0/libpod";

/** Where Podman 4 looks for its network helpers (its default `helper_binaries_dir`). */
const HELPER_DIRS = ["/usr/local/libexec/podman", "/usr/local/lib/podman", "/usr/libexec/podman", "/usr/lib/podman"];

/** Gathers every fact; never rejects. */
export async function gatherFacts(host: DoctorHost): Promise<DoctorFacts> {
  const { config, env, uid, gid } = host;
  const pathEnv = env["PATH"] ?? "";
  const { path: runtimeDir, fromEnv } = resolveRuntimeDir(env, uid);
  const mounts = probe(async () => parseMountinfo(await readFile("/proc/self/mountinfo", "utf8")));
  const helper = (name: string) => firstExecutable(HELPER_DIRS.map((d) => `${d}/${name}`));
  const [
    cli,
    service,
    subuid,
    subgid,
    newuidmap,
    newgidmap,
    problem,
    mode,
    ociRuntimes,
    storage,
    tun,
    slirp4netns,
    netavark,
    aardvarkDns,
    keyring,
    containersConf,
    cgroupDelegation,
    unprivilegedPortStart,
  ] = await Promise.all([
    probe(() => podmanCli(config.podman.binary, env)),
    probe(() => podmanService(config.podman.socket)),
    probe(() => readSubIds("/etc/subuid")),
    probe(() => readSubIds("/etc/subgid")),
    findExecutable("newuidmap", pathEnv),
    findExecutable("newgidmap", pathEnv),
    probe(() => runtimeDirProblem(runtimeDir, { fromEnv, uid })),
    stat(runtimeDir).then((st) => st.mode & 0o7777, () => undefined),
    probe(() => probeRuntimes(uid, gid, pathEnv)),
    probe(() => storageFacts(env, pathEnv)),
    probe(() => tunUsable()),
    findExecutable("slirp4netns", pathEnv),
    helper("netavark"),
    helper("aardvark-dns"),
    keyringFacts(uid),
    probe(() => readContainersConf(env)),
    probe(async () => {
      const found = await mounts;
      if (!("value" in found) || cgroupLayout(found.value) !== "v2") return undefined;
      return await delegation(uid);
    }),
    probe(() => readNumber("/proc/sys/net/ipv4/ip_unprivileged_port_start")),
  ]);
  return {
    user: { uid, gid, name: userName(env) },
    podman: {
      binary: config.podman.binary,
      cli,
      socketPath: config.podman.socket,
      embedded: config.podman.embedded_service,
      service,
    },
    subIds: { subuid, subgid, newuidmap, newgidmap },
    runtimeDir: { path: runtimeDir, fromEnv, problem, mode },
    mounts: await mounts,
    ociRuntimes,
    storage,
    tun,
    network: { slirp4netns, netavark, aardvarkDns },
    keyring,
    containersConf,
    cgroupDelegation,
    unprivilegedPortStart,
  };
}

async function probe<T>(fn: () => Promise<T>): Promise<Probe<T>> {
  try {
    return { value: await fn() };
  } catch (err) {
    return { error: errorMessage(err) };
  }
}

function errorMessage(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split("\n")[0]!.trim();
}

/**
 * Runs `podman --version`, which reads no configuration and touches no storage (unlike `podman version`, which on
 * Podman 4.3 creates a new user's storage with vfs and starts the rootless pause process).
 */
async function podmanCli(binary: string, env: Readonly<Record<string, string>>): Promise<PodmanCliFacts> {
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command(binary, {
      args: ["--version"],
      env: { ...env },
      clearEnv: true,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(5_000),
    }).output();
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return { installed: false };
    throw err;
  }
  const d = new TextDecoder();
  const output = d.decode(out.stdout).trim();
  if (!out.success) {
    // Podman reads containers.conf even for --version, and says what is wrong with it in a logrus line.
    const why = lastLines(d.decode(out.stderr), 1) || `exit status ${out.code}`;
    throw new Error(`"${binary} --version" failed: ${why}`);
  }
  return { installed: true, version: parsePodmanVersion(output), output };
}

/** Asks the configured socket: `_ping` (1 s), then version and info at once. A silent socket is a fact, not an error. */
async function podmanService(path: string): Promise<PodmanServiceFacts> {
  const client = Deno.createHttpClient({ proxy: { transport: "unix", path } });
  try {
    let pingApi: string | undefined;
    try {
      const res = await fetch(`${LIBPOD}/_ping`, { client, signal: AbortSignal.timeout(1_000) });
      await res.body?.cancel();
      if (!res.ok) return { answers: false, reason: `_ping answered HTTP ${res.status}` };
      pingApi = res.headers.get("libpod-api-version") ?? undefined;
    } catch (err) {
      return { answers: false, reason: connectFailure(err) };
    }
    const getJson = async <T>(what: string): Promise<T | undefined> => {
      try {
        const res = await fetch(`${LIBPOD}/${what}`, { client, signal: AbortSignal.timeout(3_000) });
        if (!res.ok) {
          await res.body?.cancel();
          return undefined;
        }
        return await res.json() as T;
      } catch {
        return undefined;
      }
    };
    // info takes ~200 ms of host probing; both run at once.
    const [version, info] = await Promise.all([getJson<LibpodVersion>("version"), getJson<LibpodInfo>("info")]);
    return {
      answers: true,
      apiVersion: (version ? libpodApiVersion(version) : undefined) ?? pingApi,
      ociRuntime: info?.host?.ociRuntime?.name ?? info?.host?.ociRuntime?.path,
    };
  } finally {
    client.close();
  }
}

/** The gist of a failed connect ("no such file or directory", "connection refused", "no answer within 1 s"). */
function connectFailure(err: unknown): string {
  if (err instanceof DOMException && err.name === "TimeoutError") return "no answer within 1 s";
  // fetch says "fetch failed"; its cause says why ("… client error (Connect): Connection refused (os error 111)").
  const cause = (err as { cause?: unknown }).cause;
  const message = errorMessage(cause ?? err);
  const m = /\(Connect\):\s*(.+?)(?:\s*\(os error \d+\))?$/.exec(message);
  const gist = m?.[1] ?? message;
  return gist.charAt(0).toLowerCase() + gist.slice(1);
}

async function readSubIds(path: string): Promise<SubIdRange[]> {
  try {
    return parseSubIds(await readFile(path, "utf8"));
  } catch (err) {
    if ((err as { code?: string }).code === "ENOENT") return [];
    throw err;
  }
}

/** Probes every installed runtime in a private temp directory, removed afterwards (nothing is left in the runtime dir). */
async function probeRuntimes(uid: number, gid: number, pathEnv: string): Promise<ProbedRuntime[]> {
  const workDir = await Deno.makeTempDir({ dir: tmpdir(), prefix: "cri-podman-doctor-" });
  try {
    return await new OciRuntimeProbes({ workDir, uid, gid, pathEnv, timeoutMs: 5_000 }).probeInstalled();
  } finally {
    await Deno.remove(workDir, { recursive: true }).catch(() => {});
  }
}

async function storageFacts(env: Readonly<Record<string, string>>, pathEnv: string) {
  const paths = storagePaths(env);
  // The overlay test mount must be on the filesystem the storage will be on, but creating the graph root's parent
  // (~/.local/share/containers) is not doctor's business: test in the nearest directory that exists.
  const probeDir = await nearestExisting(paths.graphRoot.slice(0, paths.graphRoot.lastIndexOf("/")));
  const facts = await readStorageFacts(paths, env, probeDir);
  const file = facts.envConfig ?? facts.configFiles[0];
  const config = file === undefined ? undefined : { path: file, text: await readFile(file, "utf8") };
  return { paths, facts, config, fuseOverlayfs: await findExecutable("fuse-overlayfs", pathEnv) };
}

async function nearestExisting(path: string): Promise<string> {
  for (let dir = path; dir !== "" && dir !== "/"; dir = dir.slice(0, dir.lastIndexOf("/"))) {
    try {
      if ((await stat(dir)).isDirectory()) return dir;
    } catch {
      // missing: try the parent
    }
  }
  return "/";
}

async function keyringFacts(uid: number): Promise<DoctorFacts["keyring"]> {
  const prefix = uid === 0 ? "root_" : "";
  const [maxkeys, maxbytes, usage] = await Promise.all([
    probe(() => readNumber(`/proc/sys/kernel/keys/${prefix}maxkeys`)),
    probe(() => readNumber(`/proc/sys/kernel/keys/${prefix}maxbytes`)),
    probe(async () => parseKeyUsers(await readFile("/proc/key-users", "utf8"), uid)),
  ]);
  return { maxkeys, maxbytes, usage };
}

/**
 * Every containers.conf Podman 4 reads, in its order: CONTAINERS_CONF alone when set; else the system files, their
 * drop-ins, the user's file and the user's drop-ins.
 */
async function readContainersConf(env: Readonly<Record<string, string>>): Promise<TextFile[]> {
  let paths: string[];
  if (env["CONTAINERS_CONF"]) {
    paths = [env["CONTAINERS_CONF"]];
  } else {
    const user = `${env["XDG_CONFIG_HOME"] || `${env["HOME"] ?? ""}/.config`}/containers/containers.conf`;
    paths = [
      "/usr/share/containers/containers.conf",
      "/etc/containers/containers.conf",
      ...await dropIns("/etc/containers/containers.conf.d"),
      user,
      ...await dropIns(`${user}.d`),
    ];
  }
  const files: TextFile[] = [];
  for (const path of paths) {
    try {
      files.push({ path, text: await readFile(path, "utf8") });
    } catch (err) {
      if ((err as { code?: string }).code !== "ENOENT") throw err;
    }
  }
  return files;
}

async function dropIns(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).filter((n) => n.endsWith(".conf")).sort().map((n) => `${dir}/${n}`);
  } catch {
    return [];
  }
}

async function delegation(uid: number): Promise<{ cgroup: string; controllers: string[] }> {
  const own = unifiedCgroupPath(await readFile("/proc/self/cgroup", "utf8"));
  if (own === undefined) throw new Error('"/proc/self/cgroup" has no cgroup v2 line');
  const cgroup = delegationCgroup(own, uid);
  const text = await readFile(`/sys/fs/cgroup${cgroup === "/" ? "" : cgroup}/cgroup.controllers`, "utf8");
  return { cgroup, controllers: text.split(/\s+/).filter((c) => c !== "") };
}

async function readNumber(path: string): Promise<number> {
  const text = (await readFile(path, "utf8")).trim();
  const n = Number(text);
  if (text === "" || !Number.isFinite(n)) throw new Error(`"${path}" holds ${JSON.stringify(text)}, not a number`);
  return n;
}

function userName(env: Readonly<Record<string, string>>): string | undefined {
  try {
    return userInfo().username;
  } catch {
    return env["USER"] || undefined;
  }
}
