/**
 * Brand-new unprivileged users for tests that need a machine's first run: no Podman configuration, no container
 * storage, no Deno cache. Root only (`useradd`); everything is undone by `remove()`.
 * @module
 */

import { run } from "./_process.ts";

/** A user name that is not taken yet: `prefix` and a few characters unique to this moment. */
export function newUserName(prefix: string): string {
  return `${prefix}${Date.now().toString(36).slice(-6)}${Math.floor(Math.random() * 1296).toString(36)}`.slice(0, 31);
}

/** A user made by {@linkcode createSystemUser}. */
export interface SystemUser extends AsyncDisposable {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
  readonly home: string;
  /** `/run/user/<uid>`: not created; a test makes it when it wants a login session's runtime directory. */
  readonly runtimeDir: string;
  /**
   * SIGKILLs every process of the user (by pid: all were started for the test) and keeps its files: what the end of
   * a login session, or a CI machine reused after its jobs were killed, leaves behind.
   */
  killAll(): Promise<void>;
  /** Ends every process of the user (as {@linkcode killAll}), deletes the user and its files. */
  remove(): Promise<void>;
}

/**
 * Creates a user with a home directory and a subordinate id range of 65536 ids above every range in use (as
 * `useradd` does on Debian), and nothing else.
 */
export async function createSystemUser(prefix: string): Promise<SystemUser> {
  if (Deno.uid() !== 0) throw new Error("createSystemUser() needs root");
  const name = newUserName(prefix);
  await run("useradd", ["--create-home", "--shell", "/bin/bash", name]);
  // useradd adds ranges when /etc/login.defs asks for it; make sure there is one either way.
  for (const file of ["/etc/subuid", "/etc/subgid"]) {
    const text = await Deno.readTextFile(file).catch(() => "");
    if (text.split("\n").some((l) => l.startsWith(`${name}:`))) continue;
    const end = text.split("\n").map((l) => l.split(":")).filter((f) => f.length === 3)
      .reduce((max, f) => Math.max(max, Number(f[1]) + Number(f[2])), 100_000);
    await Deno.writeTextFile(file, `${text.endsWith("\n") || text === "" ? "" : "\n"}${name}:${end}:65536\n`, {
      append: true,
    });
  }
  return await existingSystemUser(name);
}

/** Wraps a user that something else created (e.g. `scripts/setup_host.sh`), so a test can remove it afterwards. */
export async function existingSystemUser(name: string): Promise<SystemUser> {
  const uid = Number((await run("id", ["-u", name])).trim());
  const gid = Number((await run("id", ["-g", name])).trim());
  const home = (await run("getent", ["passwd", name])).split(":")[5] ?? `/home/${name}`;
  const runtimeDir = `/run/user/${uid}`;
  const killAll = async () => {
    for (let round = 0; round < 20; round++) {
      const pids = (await run("pgrep", ["-u", String(uid)]).catch(() => "")).split("\n").filter(Boolean);
      if (pids.length === 0) return;
      for (const pid of pids) {
        try {
          Deno.kill(Number(pid), "SIGKILL");
        } catch {
          // gone already
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };
  let removed: Promise<void> | undefined;
  const remove = () =>
    removed ??= (async () => {
      await killAll();
      await Deno.remove(runtimeDir, { recursive: true }).catch(() => {});
      await run("userdel", ["--remove", name]).catch(() => {});
      await Deno.remove(home, { recursive: true }).catch(() => {});
      for (const file of ["/etc/subuid", "/etc/subgid"]) {
        const text = await Deno.readTextFile(file).catch(() => "");
        await Deno.writeTextFile(file, text.split("\n").filter((l) => !l.startsWith(`${name}:`)).join("\n"));
      }
    })();
  return { name, uid, gid, home, runtimeDir, killAll, remove, [Symbol.asyncDispose]: remove };
}
