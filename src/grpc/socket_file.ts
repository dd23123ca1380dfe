/**
 * The unix socket file of a server: making its place ready before listen (parent folder, stale socket), setting
 * its mode after listen, and removing it on close, never touching a socket another live server owns.
 * @module
 */

import net from "node:net";
import path from "node:path";
import { CriError } from "../errors.ts";

/** Longest socket path Linux accepts: `sun_path` holds 108 octets including the terminating NUL. */
export const MAX_SOCKET_PATH_BYTES = 107;

/** What {@link prepareSocketPath} did. */
export interface PreparedSocketPath {
  /** The parent folder did not exist and was created with mode 0700. */
  createdParent: boolean;
  /** A stale socket (nobody listening) was found at the path and removed. */
  removedStale: boolean;
}

/**
 * Makes `socketPath` ready for `listen()`: creates the parent folder (mode 0700) if missing, removes a stale
 * socket, and refuses a path where another server is listening (AlreadyExists) or that holds something other than
 * a socket (FailedPrecondition).
 */
export async function prepareSocketPath(
  socketPath: string,
  options: { probeTimeoutMs?: number } = {},
): Promise<PreparedSocketPath> {
  const bytes = new TextEncoder().encode(socketPath).length;
  if (bytes > MAX_SOCKET_PATH_BYTES) {
    throw new CriError(
      "InvalidArgument",
      `Socket path "${socketPath}" is too long: ${bytes} bytes, the limit is ${MAX_SOCKET_PATH_BYTES}`,
    );
  }
  const parent = path.dirname(path.resolve(socketPath));
  let createdParent = false;
  if (!(await exists(parent))) {
    await Deno.mkdir(parent, { recursive: true, mode: 0o700 });
    await Deno.chmod(parent, 0o700); // the umask may have taken bits off; 0700 is what we promise
    createdParent = true;
  }

  let info: Deno.FileInfo;
  try {
    info = await Deno.lstat(socketPath);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return { createdParent, removedStale: false };
    throw err;
  }
  if (!info.isSocket) {
    throw new CriError("FailedPrecondition", `Cannot listen on "${socketPath}": a file that is not a socket is there`);
  }
  const probe = await probeSocket(socketPath, options.probeTimeoutMs ?? 1000);
  if (probe === "listening") {
    throw new CriError("AlreadyExists", `Another server is listening on "${socketPath}"`);
  }
  if (probe === "stale") {
    try {
      await Deno.remove(socketPath);
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    }
    return { createdParent, removedStale: true };
  }
  return { createdParent, removedStale: false };
}

/** The identity of a socket file, so that closing removes the file we made and not a successor's. */
export interface SocketFileId {
  /** Device number. */
  dev: number;
  /** Inode number. */
  ino: number;
}

/** Sets the mode of the socket file just created by `listen()` (default 0660) and returns its identity. */
export async function secureSocketFile(socketPath: string, mode = 0o660): Promise<SocketFileId> {
  await Deno.chmod(socketPath, mode);
  const info = await Deno.lstat(socketPath);
  return { dev: info.dev, ino: info.ino ?? 0 };
}

/** Removes the socket file if it is still the one identified by `id` (any socket without `id`); tells if it did. */
export async function removeSocketFile(socketPath: string, id?: SocketFileId): Promise<boolean> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.lstat(socketPath);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw err;
  }
  if (!info.isSocket) return false;
  if (id && (info.dev !== id.dev || (info.ino ?? 0) !== id.ino)) return false;
  try {
    await Deno.remove(socketPath);
    return true;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw err;
  }
}

/** What connecting to an existing socket file showed. */
type Probe = "listening" | "stale" | "gone";

// connect() tells a live socket from a stale one: ECONNREFUSED means no process listens on it any more.
function probeSocket(socketPath: string, timeoutMs: number): Promise<Probe> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(socketPath);
    const timer = setTimeout(() => finish(() => resolve("listening")), timeoutMs); // a full backlog is still alive
    function finish(settle: () => void) {
      clearTimeout(timer);
      socket.destroy();
      settle();
    }
    socket.once("connect", () => finish(() => resolve("listening")));
    socket.once("error", (err: NodeJS.ErrnoException) => {
      if (err.code === "ECONNREFUSED") finish(() => resolve("stale"));
      else if (err.code === "ENOENT") finish(() => resolve("gone"));
      else if (err.code === "EAGAIN") finish(() => resolve("listening"));
      else {
        finish(() =>
          reject(
            new CriError("FailedPrecondition", `Cannot tell whether "${socketPath}" is in use: ${err.message}`, {
              cause: err,
            }),
          )
        );
      }
    });
  });
}

async function exists(p: string): Promise<boolean> {
  try {
    await Deno.stat(p);
    return true;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw err;
  }
}
