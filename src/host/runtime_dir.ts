/**
 * The user's runtime directory ($XDG_RUNTIME_DIR) and the private directories cri-podman makes below it. Without a
 * systemd login session nothing creates `$XDG_RUNTIME_DIR/podman/`, and `podman system service` then fails with
 * "bind: no such file or directory": whoever needs a directory there makes it.
 * @module
 */
import { mkdir, stat } from "node:fs/promises";
import { userInfo } from "node:os";

/** The user's runtime directory: `$XDG_RUNTIME_DIR` (`fromEnv`), else `/run/user/<uid>`. */
export function resolveRuntimeDir(env: Record<string, string>, uid: number): { path: string; fromEnv: boolean } {
  const fromEnv = !!env["XDG_RUNTIME_DIR"];
  return { path: fromEnv ? env["XDG_RUNTIME_DIR"]! : `/run/user/${uid}`, fromEnv };
}

/** Why `path` cannot serve as this user's runtime directory, with the fix; undefined when it can. */
export async function runtimeDirProblem(path: string, opts: { fromEnv: boolean; uid: number }): Promise<
  string | undefined
> {
  const user = userName(opts.uid);
  const origin = opts.fromEnv ? `XDG_RUNTIME_DIR "${path}"` : `XDG_RUNTIME_DIR is not set and "${path}"`;
  const makeIt = `as root, run \`install -d -m 0700 -o ${user} -g ${user} ${path}\` (a systemd login session ` +
    `creates it), or set XDG_RUNTIME_DIR to a private directory of yours`;
  let st;
  try {
    st = await stat(path);
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === "ENOENT") return `${origin} does not exist: ${makeIt}`;
    return `${origin} cannot be used (${code ?? (err as Error).message}): ${makeIt}`;
  }
  if (!st.isDirectory()) return `${origin} is not a directory: ${makeIt}`;
  if (st.uid !== opts.uid) {
    return `${origin} belongs to uid ${st.uid}, not to you (${user}, uid ${opts.uid}): as root, run ` +
      `\`chown ${user}: ${path}\`, or set XDG_RUNTIME_DIR to a private directory of yours`;
  }
  if ((st.mode & 0o200) === 0) return `${origin} is not writable by you: run \`chmod 0700 ${path}\``;
  return undefined;
}

/**
 * Creates `path` and any missing parents with mode 0700 (sockets and pid files of one user live there); an existing
 * directory is left as it is.
 */
export async function ensurePrivateDirectory(path: string): Promise<void> {
  await mkdir(path, { recursive: true, mode: 0o700 });
}

function userName(uid: number): string {
  try {
    return userInfo().username;
  } catch {
    return String(uid);
  }
}
