/**
 * Talks to a container's conmon through its control FIFO (`<StaticDir>/ctl`), which Podman 4.3's API does not
 * expose: message type 2 makes conmon reopen the container's log file.
 * @module
 */
import { constants, open, stat } from "node:fs/promises";

/** Asks conmon to reopen the log: it creates a new file at the log path. Rejects with the errno when it cannot. */
export async function reopenConmonLog(ctlPath: string): Promise<void> {
  // O_NONBLOCK: opening a FIFO for writing without a reader fails with ENXIO instead of blocking forever.
  const handle = await open(ctlPath, constants.O_WRONLY | constants.O_NONBLOCK);
  try {
    await handle.write("2 0 0\n");
  } finally {
    await handle.close();
  }
}

/**
 * Waits until a file exists at `path` that is not the one whose inode was `previousIno` (conmon writes the new log
 * file asynchronously after a reopen). Resolves false when `timeoutMs` passes first.
 */
export async function waitForNewFile(
  path: string,
  previousIno: bigint | undefined,
  timeoutMs: number,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ino = await stat(path, { bigint: true }).then((st) => st.ino, () => undefined);
    if (ino !== undefined && ino !== previousIno) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** The inode of `path`, or undefined when nothing is there. */
export async function inodeOf(path: string): Promise<bigint | undefined> {
  return await stat(path, { bigint: true }).then((st) => st.ino, () => undefined);
}
