/**
 * Checks on host files that CreateContainer names (mount sources, seccomp profiles).
 * @module
 */
import { access, constants, readFile, stat } from "node:fs/promises";

/** Resolves whether `path` exists (any type). */
export async function pathExists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/** Resolves the reason `path` cannot be read as a file, or undefined when it can. */
export async function unreadableReason(path: string): Promise<string | undefined> {
  try {
    const st = await stat(path);
    if (!st.isFile()) return "not a regular file";
    await access(path, constants.R_OK);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

/** This process's oom_score_adj (0 when it cannot be read). */
export async function ownOomScoreAdj(): Promise<number> {
  try {
    return Number((await readFile("/proc/self/oom_score_adj", "utf8")).trim()) || 0;
  } catch {
    return 0;
  }
}
