/**
 * The storage driver of the user's Podman. A fresh rootless user gets `vfs`, which copies a whole image for every
 * container. Native overlay works rootless on kernels that mount overlay in a user namespace, and the driver can be
 * chosen only before the storage is first used (switching later needs `podman system reset`). So: when the storage
 * is new and nothing configures it, cri-podman writes `driver = "overlay"` into the user's storage.conf (the same
 * file Podman's own CLI reads, so both agree on the driver), once, and says so.
 * @module
 */
import { execFile } from "node:child_process";
import { chmod, mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { pathExists } from "./files.ts";

/** Directories that show which driver a storage already uses (or that libpod has used it). */
const USED_STORAGE_MARKERS = ["overlay", "vfs", "btrfs", "zfs", "aufs", "devicemapper", "libpod"];

/** Where Podman reads the storage configuration and keeps the storage, for one user. */
export interface StoragePaths {
  /** `$XDG_CONFIG_HOME/containers/storage.conf` (the user's; it replaces the system file when present). */
  userConfig: string;
  /** The system files a rootless Podman also reads when the user has none. */
  systemConfigs: readonly string[];
  /** The default rootless graph root, `$XDG_DATA_HOME/containers/storage`. */
  graphRoot: string;
}

/** The storage paths of the user described by `env` (HOME, XDG_CONFIG_HOME, XDG_DATA_HOME). */
export function storagePaths(env: Readonly<Record<string, string | undefined>>): StoragePaths {
  const home = env["HOME"] ?? "";
  const configHome = env["XDG_CONFIG_HOME"] || `${home}/.config`;
  const dataHome = env["XDG_DATA_HOME"] || `${home}/.local/share`;
  return {
    userConfig: `${configHome}/containers/storage.conf`,
    systemConfigs: ["/etc/containers/storage.conf", "/usr/share/containers/storage.conf"],
    graphRoot: `${dataHome}/containers/storage`,
  };
}

/** What was found out about the storage before deciding. */
export interface StorageFacts {
  /** `CONTAINERS_STORAGE_CONF` names a file: the user chose. */
  envConfig: string | undefined;
  /** Existing storage configuration files. */
  configFiles: readonly string[];
  /** Entries of the graph root directory; undefined when it does not exist. */
  graphRootEntries: readonly string[] | undefined;
  /** Whether a native overlay mount in a user namespace worked, and if not why. */
  overlay: { works: true } | { works: false; reason: string };
}

/** What to do about the storage driver, and why. */
export type StoragePlan =
  | { action: "configure-overlay"; reason: string }
  | { action: "keep"; driver: string | undefined; reason: string; hint?: string };

/** Decides about the storage driver from the facts. Pure. */
export function planStorage(facts: StorageFacts): StoragePlan {
  if (facts.envConfig) {
    return { action: "keep", driver: undefined, reason: `CONTAINERS_STORAGE_CONF names ${facts.envConfig}` };
  }
  if (facts.configFiles.length > 0) {
    return { action: "keep", driver: undefined, reason: `configured in ${facts.configFiles.join(", ")}` };
  }
  const used = (facts.graphRootEntries ?? []).filter((e) => USED_STORAGE_MARKERS.includes(e));
  if (used.includes("overlay")) return { action: "keep", driver: "overlay", reason: "the storage uses overlay" };
  if (used.length > 0) {
    const driver = used.find((e) => e !== "libpod");
    return {
      action: "keep",
      driver,
      reason: `the storage is in use${driver ? ` with ${driver}` : ""}`,
      ...(driver === "vfs"
        ? {
          hint: "vfs copies every image for each container; to switch to overlay, `podman system reset` (deletes " +
            'every image and container) and write driver = "overlay" under [storage] in the user\'s storage.conf',
        }
        : {}),
    };
  }
  if (!facts.overlay.works) {
    return {
      action: "keep",
      driver: undefined,
      reason: `native overlay does not work here (${facts.overlay.reason}); Podman picks the driver`,
    };
  }
  return { action: "configure-overlay", reason: "new storage, and this kernel mounts overlay in a user namespace" };
}

/** Gathers the facts for {@link planStorage}; `probeDir` is a private directory for the overlay test mount. */
export async function readStorageFacts(
  paths: StoragePaths,
  env: Readonly<Record<string, string | undefined>>,
  probeDir: string,
): Promise<StorageFacts> {
  const configFiles: string[] = [];
  for (const file of [paths.userConfig, ...paths.systemConfigs]) {
    if (await pathExists(file)) configFiles.push(file);
  }
  let graphRootEntries: string[] | undefined;
  try {
    graphRootEntries = await readdir(paths.graphRoot);
  } catch {
    graphRootEntries = undefined;
  }
  // The probe (a user namespace and a mount) only matters for a new, unconfigured storage: planStorage keeps any other.
  const inUse = (graphRootEntries ?? []).some((e) => USED_STORAGE_MARKERS.includes(e));
  const overlay = configFiles.length === 0 && !env["CONTAINERS_STORAGE_CONF"] && !inUse
    ? await probeNativeOverlay(probeDir)
    : { works: false as const, reason: "not tested" };
  return { envConfig: env["CONTAINERS_STORAGE_CONF"] || undefined, configFiles, graphRootEntries, overlay };
}

/** The storage.conf cri-podman writes for a new storage. */
export function overlayStorageConf(now: Date): string {
  return [
    `# Written by cri-podman on ${now.toISOString()}: the storage was new and this kernel mounts overlay in a user`,
    "# namespace, so images are shared by containers instead of copied for each one (vfs). Podman's CLI reads this",
    "# file too. The driver can only change while the storage is empty (`podman system reset`).",
    "[storage]",
    'driver = "overlay"',
    "",
  ].join("\n");
}

/** Writes {@link overlayStorageConf} to `path` unless a file is there already (never overwrites). */
export async function writeOverlayStorageConf(path: string, now = new Date()): Promise<void> {
  await mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true, mode: 0o700 });
  await writeFile(path, overlayStorageConf(now), { flag: "wx", mode: 0o644 });
}

/**
 * Mounts an overlay in a new user and mount namespace (`unshare -rm mount -t overlay …`), in a temp directory below
 * `dir`; the namespace, and with it the mount, ends with the command.
 */
export async function probeNativeOverlay(dir: string): Promise<{ works: true } | { works: false; reason: string }> {
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const base = await mkdtemp(`${dir}/overlay-probe-`);
    try {
      for (const sub of ["lower", "upper", "work", "merged"]) await mkdir(`${base}/${sub}`);
      const options = `lowerdir=${base}/lower,upperdir=${base}/upper,workdir=${base}/work`;
      const error = await runCommand("unshare", [
        "-rm",
        "mount",
        "-t",
        "overlay",
        "overlay",
        "-o",
        options,
        `${base}/merged`,
      ]);
      return error === undefined ? { works: true } : { works: false, reason: error };
    } finally {
      // The kernel leaves overlay's work/work directory with mode 0, which stops rm from reading it.
      await chmod(`${base}/work/work`, 0o700).catch(() => {});
      await rm(base, { recursive: true, force: true }).catch(() => {});
    }
  } catch (err) {
    return { works: false, reason: (err as Error).message };
  }
}

function runCommand(file: string, args: string[]): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile(file, args, { timeout: 10_000 }, (err, _stdout, stderr) => {
      resolve(err ? (String(stderr).trim().split("\n").pop() || err.message) : undefined);
    });
  });
}
