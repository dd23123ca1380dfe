/**
 * Pure readers of the host files and command outputs `doctor` looks at: `podman --version`, /etc/subuid and
 * /etc/subgid, /proc/key-users, and the keys of containers.conf and storage.conf that matter here.
 * @module
 */
import { parse as parseToml } from "smol-toml";

/** The version in `podman --version` output ("podman version 4.3.1"), or undefined when it shows none. */
export function parsePodmanVersion(output: string): string | undefined {
  return /\bversion\s+v?(\d+\.\d+(?:\.\d+)?[^\s]*)/i.exec(output)?.[1];
}

/** One line of /etc/subuid or /etc/subgid: `owner:start:count`, the owner a user name or a uid. */
export interface SubIdRange {
  owner: string;
  start: number;
  count: number;
}

/** Parses /etc/subuid or /etc/subgid; comments, blank and malformed lines are skipped. */
export function parseSubIds(text: string): SubIdRange[] {
  const ranges: SubIdRange[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const [owner, start, count] = line.split(":");
    if (!owner || !/^\d+$/.test(start ?? "") || !/^\d+$/.test(count ?? "")) continue;
    ranges.push({ owner, start: Number(start), count: Number(count) });
  }
  return ranges;
}

/** The ranges of a user, named by name or by uid (shadow's tools accept both). */
export function rangesOf(ranges: readonly SubIdRange[], user: { name: string | undefined; uid: number }): SubIdRange[] {
  return ranges.filter((r) => r.owner === String(user.uid) || (user.name !== undefined && r.owner === user.name));
}

/**
 * The first `size` ids from `from` on that overlap no range in `taken`: a range the fix can suggest without
 * clashing with another user's.
 */
export function freeSubIdRange(taken: readonly SubIdRange[], size = 65536, from = 100000): SubIdRange {
  let start = from;
  const sorted = [...taken].sort((a, b) => a.start - b.start);
  // Each pass moves past every range that overlaps the candidate; sorted, one pass suffices.
  for (const r of sorted) {
    if (r.start < start + size && start < r.start + r.count) start = r.start + r.count;
  }
  return { owner: "", start, count: size };
}

/** A user's current key quota use from /proc/key-users. */
export interface KeyUsage {
  keys: number;
  bytes: number;
}

/**
 * The line of `uid` in /proc/key-users (`  1001:     4 4/4 4/200 38/20000`: uid, usage, keys/instantiated,
 * quota keys/maxkeys, quota bytes/maxbytes), or undefined when the user has no keys yet.
 */
export function parseKeyUsers(text: string, uid: number): KeyUsage | undefined {
  for (const line of text.split("\n")) {
    const m = /^\s*(\d+):\s+\d+\s+\d+\/\d+\s+(\d+)\/\d+\s+(\d+)\/\d+/.exec(line);
    if (m && Number(m[1]) === uid) return { keys: Number(m[2]), bytes: Number(m[3]) };
  }
  return undefined;
}

/** A TOML file's text and where it came from. */
export interface TextFile {
  path: string;
  text: string;
}

/** A file that is not valid TOML, with a one-line reason. */
export interface TomlProblem {
  path: string;
  message: string;
}

/** A setting read from configuration files: its value, the file that set it last, and files that did not parse. */
export interface Setting<T> {
  value: T | undefined;
  setBy: string | undefined;
  problems: TomlProblem[];
}

/**
 * `[containers] keyring` as Podman would see it in `files`, given in Podman's reading order (later files win); a file
 * that does not parse is skipped and reported.
 */
export function keyringSetting(files: readonly TextFile[]): Setting<boolean> {
  return lastSetting(files, "containers", "keyring", (v): v is boolean => typeof v === "boolean");
}

/** `[engine] runtime` (an OCI runtime's name or path) as Podman would see it in `files`, in Podman's reading order. */
export function runtimeSetting(files: readonly TextFile[]): Setting<string> {
  return lastSetting(files, "engine", "runtime", (v): v is string => typeof v === "string" && v !== "");
}

/** `[storage] driver` of a storage.conf, or undefined when it sets none (or does not parse: see `problems`). */
export function storageDriverSetting(file: TextFile): Setting<string> {
  return lastSetting([file], "storage", "driver", (v): v is string => typeof v === "string" && v !== "");
}

function lastSetting<T>(
  files: readonly TextFile[],
  table: string,
  key: string,
  valid: (v: unknown) => v is T,
): Setting<T> {
  const setting: Setting<T> = { value: undefined, setBy: undefined, problems: [] };
  for (const file of files) {
    let doc: Record<string, unknown>;
    try {
      doc = parseToml(file.text) as Record<string, unknown>;
    } catch (err) {
      // smol-toml adds a multi-line excerpt; a check's line wants the first line only.
      const first = ((err as Error).message.split("\n")[0] ?? "").replace(/^Invalid TOML document: /, "");
      setting.problems.push({ path: file.path, message: first });
      continue;
    }
    const section = doc[table];
    if (typeof section !== "object" || section === null) continue;
    const value = (section as Record<string, unknown>)[key];
    if (valid(value)) {
      setting.value = value;
      setting.setBy = file.path;
    }
  }
  return setting;
}
