/**
 * The node's holder: one long-lived process inside Podman's user namespace and its rootless network namespace.
 * Commands enter the node by entering the holder's user and network namespaces (and Podman's mount namespace, see
 * {@linkcode NodeHolder.mountPid}) with nsenter, which then executes the command itself, so the command is our direct
 * child and gets our signals (`podman unshare` forwards none: a SIGTERM to it left its command running, measured on
 * Podman 4.3.1).
 *
 * The holder is `sleep infinity` under `podman unshare`, in a session of its own; a pid file (pid and start time)
 * names it, and a lock file keeps two `cri-podman node` from starting two.
 * @module
 */
import { spawn } from "node:child_process";
import { StartupError } from "../errors.ts";
import { netnsFileInode, netnsInode, rootlessNetnsPath } from "../host/netns.ts";
import { processStartTime } from "../host/processes.ts";
import { ensurePrivateDirectory } from "../host/runtime_dir.ts";

/** The environment Podman's `unshare` gives a command, which a podman run inside the node needs too. */
export const NODE_PODMAN_ENV: readonly string[] = [
  "_CONTAINERS_USERNS_CONFIGURED",
  "_CONTAINERS_ROOTLESS_UID",
  "_CONTAINERS_ROOTLESS_GID",
  "CONTAINERS_GRAPHROOT",
  "CONTAINERS_RUNROOT",
];

/** What the holder needs to start. */
export interface NodeHolderOptions {
  podman: string;
  runtimeDir: string;
  env: Record<string, string>;
  /** How long `podman unshare` may take to start the holder. */
  startTimeoutMs: number;
}

/** The running holder: its pid and the environment a command entering it gets. */
export interface NodeHolder {
  pid: number;
  /**
   * The process whose mount namespace the node uses: Podman's pause process (its user namespace's first process), so
   * that what kubelet mounts (secret and emptyDir tmpfs volumes, critest's propagation mounts) is where Podman makes
   * containers from. The holder's own (`podman unshare --rootless-netns` makes a private one) would hide them. The
   * holder itself when the pause process cannot be found.
   */
  mountPid: number;
  env: Record<string, string>;
  /** Whether this call started it. */
  started: boolean;
}

interface PidRecord {
  pid: number;
  startTime: number;
}

/** The folder of the node's files (pid file, lock). */
export function nodeStateDir(runtimeDir: string): string {
  return `${runtimeDir}/cri-podman/node`;
}

/**
 * Returns the holder, starting one when none runs or the one that runs is no longer in Podman's current rootless
 * network namespace (the namespace was torn down and made anew: that holder is ended, its pid is ours).
 */
export async function ensureNodeHolder(opts: NodeHolderOptions): Promise<NodeHolder> {
  const dir = nodeStateDir(opts.runtimeDir);
  await ensurePrivateDirectory(dir);
  using lock = await Deno.open(`${dir}/holder.lock`, { create: true, write: true, mode: 0o600 });
  await lock.lock(true);
  const pidPath = `${dir}/holder.pid`;
  const record = await readPidRecord(pidPath);
  if (record && (await processStartTime(record.pid)) === record.startTime) {
    if (await inRootlessNetns(record.pid, opts.runtimeDir)) {
      return {
        pid: record.pid,
        mountPid: await podmanMountPid(record.pid, opts.runtimeDir),
        env: await holderEnv(record.pid),
        started: false,
      };
    }
    try {
      Deno.kill(record.pid, "SIGTERM"); // ours by pid and start time; its namespace is not the node's any more
    } catch {
      // gone meanwhile
    }
  }
  const pid = await startHolder(opts, `${dir}/holder.starting`);
  const startTime = await processStartTime(pid);
  if (startTime === undefined) throw new StartupError("The node's holder process ended as soon as it started");
  await Deno.writeTextFile(`${pidPath}.tmp`, JSON.stringify({ pid, startTime } satisfies PidRecord), { mode: 0o600 });
  await Deno.rename(`${pidPath}.tmp`, pidPath);
  if (!(await inRootlessNetns(pid, opts.runtimeDir))) {
    throw new StartupError(
      "The node's holder is not in Podman's rootless network namespace: is the keeper pod running? " +
        "(podman pod ps --filter name=cri-podman-node)",
    );
  }
  return { pid, mountPid: await podmanMountPid(pid, opts.runtimeDir), env: await holderEnv(pid), started: true };
}

/** Podman's pause process when it shares the holder's user namespace (see {@linkcode NodeHolder.mountPid}). */
async function podmanMountPid(holderPid: number, runtimeDir: string): Promise<number> {
  const pause = Number((await Deno.readTextFile(`${runtimeDir}/libpod/tmp/pause.pid`).catch(() => "")).trim());
  if (!Number.isInteger(pause) || pause <= 0) return holderPid;
  try {
    const same = Deno.readLinkSync(`/proc/${pause}/ns/user`) === Deno.readLinkSync(`/proc/${holderPid}/ns/user`);
    return same ? pause : holderPid;
  } catch {
    return holderPid;
  }
}

/** Starts `podman unshare --rootless-netns sh -c 'echo $$ > FILE; exec sleep infinity'` and returns the sleep's pid. */
async function startHolder(opts: NodeHolderOptions, pidFile: string): Promise<number> {
  await Deno.remove(pidFile).catch(() => {});
  const child = spawn(
    opts.podman,
    ["unshare", "--rootless-netns", "sh", "-c", `echo $$ > '${pidFile}' && exec sleep infinity`],
    { stdio: "ignore", detached: true, env: opts.env },
  );
  const failed = new Promise<never>((_, reject) => {
    child.once("error", (err) => reject(new StartupError(`Cannot start the node: ${opts.podman}: ${err.message}`)));
    child.once(
      "exit",
      (code) =>
        reject(new StartupError(`Cannot start the node: \`${opts.podman} unshare --rootless-netns\` exited (${code})`)),
    );
  });
  failed.catch(() => {}); // only raced below
  child.unref();
  const deadline = performance.now() + opts.startTimeoutMs;
  while (performance.now() < deadline) {
    const text = await Deno.readTextFile(pidFile).catch(() => "");
    const pid = Number(text.trim());
    if (text.endsWith("\n") && Number.isInteger(pid) && pid > 0) {
      await Deno.remove(pidFile).catch(() => {});
      return pid;
    }
    await Promise.race([failed, new Promise((r) => setTimeout(r, 20))]);
  }
  try {
    Deno.kill(-child.pid!, "SIGKILL"); // its group: podman and its command
  } catch {
    // gone
  }
  throw new StartupError(`Cannot start the node: \`podman unshare\` gave no process in ${opts.startTimeoutMs} ms`);
}

/**
 * Whether `pid` is in the network namespace Podman's rootless-netns file names now. The file is a bind mount in
 * Podman's mount namespace (outside it, an empty file): it is read through the holder's root, which is in that one.
 */
async function inRootlessNetns(pid: number, runtimeDir: string): Promise<boolean> {
  const path = await rootlessNetnsPath(`/proc/${pid}/root${runtimeDir}`);
  const want = path === undefined ? undefined : netnsFileInode(path);
  return want !== undefined && netnsInode(pid) === want;
}

/** The holder's Podman variables (see {@link NODE_PODMAN_ENV}). */
async function holderEnv(pid: number): Promise<Record<string, string>> {
  const environ = await Deno.readTextFile(`/proc/${pid}/environ`);
  const env: Record<string, string> = {};
  for (const entry of environ.split("\0")) {
    const eq = entry.indexOf("=");
    if (eq > 0 && NODE_PODMAN_ENV.includes(entry.slice(0, eq))) env[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  return env;
}

async function readPidRecord(path: string): Promise<PidRecord | undefined> {
  try {
    const value = JSON.parse(await Deno.readTextFile(path)) as Partial<PidRecord>;
    return Number.isInteger(value.pid) && Number.isInteger(value.startTime) ? value as PidRecord : undefined;
  } catch {
    return undefined;
  }
}
