/**
 * Directories cri-podman creates on the host (pod log directories).
 * @module
 */
import { mkdir } from "node:fs/promises";

/** Creates `path` and its parents (0755) if missing; resolves when it exists as a directory. */
export async function ensureDirectory(path: string): Promise<void> {
  await mkdir(path, { recursive: true, mode: 0o755 });
}
