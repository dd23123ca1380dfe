/**
 * Talks to a container's conmon through its control FIFO (`<StaticDir>/ctl`), which Podman 4.3's API does not
 * expose: message type 2 makes conmon reopen the container's log file.
 * @module
 */
import { constants, open } from "node:fs/promises";

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
