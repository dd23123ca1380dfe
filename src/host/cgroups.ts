/**
 * The host's cgroup layout and mounts, read from /proc. Pure parsers of `/proc/self/mountinfo` and
 * `/proc/self/cgroup`: rootless Podman uses cgroups only on a pure v2 layout with controllers delegated to the user,
 * and crun 1.8 fails every container on a hybrid one, so the layout decides what works.
 * @module
 */

/** One line of `/proc/self/mountinfo`: where a filesystem of which type is mounted. */
export interface MountEntry {
  /** Mount point, with the kernel's octal escapes (`\040` for a space) decoded. */
  mountPoint: string;
  /** Filesystem type, e.g. "cgroup2", "cgroup", "mqueue". */
  fsType: string;
  /** The per-superblock options, e.g. ["rw", "memory"] for a cgroup v1 memory hierarchy. */
  superOptions: readonly string[];
}

/** How cgroups are mounted: unified (v2 only), legacy (v1 only), or v1 hierarchies with a cgroup2 mount beside them. */
export type CgroupLayout = "v2" | "v1" | "hybrid";

/** Parses `/proc/self/mountinfo`; lines it cannot read are skipped. */
export function parseMountinfo(text: string): MountEntry[] {
  const entries: MountEntry[] = [];
  for (const line of text.split("\n")) {
    // "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue": the optional fields end at " - ".
    const sep = line.indexOf(" - ");
    if (sep < 0) continue;
    const before = line.slice(0, sep).split(" ");
    const after = line.slice(sep + 3).split(" ");
    const mountPoint = before[4];
    const fsType = after[0];
    if (mountPoint === undefined || fsType === undefined || fsType === "") continue;
    entries.push({ mountPoint: unescapeOctal(mountPoint), fsType, superOptions: (after[2] ?? "").split(",") });
  }
  return entries;
}

/** The cgroup layout the mounts show: cgroup2 at /sys/fs/cgroup is v2; v1 hierarchies plus any cgroup2 is hybrid. */
export function cgroupLayout(mounts: readonly MountEntry[]): CgroupLayout {
  if (mounts.some((m) => m.fsType === "cgroup2" && m.mountPoint === "/sys/fs/cgroup")) return "v2";
  const v1 = mounts.some((m) => m.fsType === "cgroup");
  const v2 = mounts.some((m) => m.fsType === "cgroup2");
  if (v1 && v2) return "hybrid";
  // No cgroup2 anywhere: legacy. (No cgroup mount at all is legacy too: nothing Podman could use.)
  return "v1";
}

/** Whether a filesystem of type `fsType` is mounted at `mountPoint`. */
export function isMounted(mounts: readonly MountEntry[], mountPoint: string, fsType: string): boolean {
  return mounts.some((m) => m.mountPoint === mountPoint && m.fsType === fsType);
}

/** The process's cgroup v2 path from `/proc/self/cgroup` (the `0::/path` line), or undefined when there is none. */
export function unifiedCgroupPath(procSelfCgroup: string): string | undefined {
  for (const line of procSelfCgroup.split("\n")) {
    if (line.startsWith("0::")) return line.slice(3) || "/";
  }
  return undefined;
}

/**
 * The cgroup whose controllers a rootless user's containers can get: the `user@<uid>.service` ancestor of `path` when
 * there is one (systemd delegates to it, and Podman makes its scopes below it), else the parent of `path`.
 */
export function delegationCgroup(path: string, uid: number): string {
  const parts = path.split("/").filter((p) => p !== "");
  const userService = parts.indexOf(`user@${uid}.service`);
  if (userService >= 0) return `/${parts.slice(0, userService + 1).join("/")}`;
  return `/${parts.slice(0, -1).join("/")}`;
}

function unescapeOctal(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}
