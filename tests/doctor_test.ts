/**
 * Integration: `cri-podman doctor` as the current user, on the real host. Each verdict is compared with what this test
 * finds out by itself (mounts, devices, sysctls, files), never with this host's answers, so it holds on any host; and
 * doctor must leave no trace: no container storage, no temp directory.
 */
import assert from "node:assert/strict";

const MOD_TS = new URL("../mod.ts", import.meta.url).pathname;
const DENO_JSON = new URL("../deno.json", import.meta.url).pathname;

const IDS = [
  "podman",
  "subuid",
  "runtime-dir",
  "oci-runtime",
  "storage",
  "tun",
  "network",
  "keyring",
  "mqueue",
  "cgroups",
  "ports",
  "user",
];

interface JsonCheck {
  id: string;
  verdict: "ok" | "warn" | "fail";
  summary: string;
  detail?: string;
  fix?: string;
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

async function doctor(...args: string[]): Promise<Run> {
  const started = performance.now();
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", "--config", DENO_JSON, MOD_TS, "doctor", ...args],
    env: { NO_COLOR: "1" },
    stdin: "null",
  }).output();
  const d = new TextDecoder();
  return {
    code: out.code,
    stdout: d.decode(out.stdout),
    stderr: d.decode(out.stderr),
    ms: performance.now() - started,
  };
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch {
    return false;
  }
}

async function readText(path: string): Promise<string | undefined> {
  try {
    return await Deno.readTextFile(path);
  } catch {
    return undefined;
  }
}

/** Mount point and type of each line of /proc/self/mountinfo, read here without the code under test. */
async function mounts(): Promise<{ at: string; type: string }[]> {
  const text = await Deno.readTextFile("/proc/self/mountinfo");
  return text.split("\n").filter((l) => l.includes(" - ")).map((l) => {
    const [before, after] = l.split(" - ") as [string, string];
    return { at: before.split(" ")[4] ?? "", type: after.split(" ")[0] ?? "" };
  });
}

async function tmpEntries(): Promise<string[]> {
  const dir = Deno.env.get("TMPDIR") || "/tmp";
  const names: string[] = [];
  for await (const e of Deno.readDir(dir)) if (e.name.startsWith("cri-podman-doctor-")) names.push(e.name);
  return names.sort();
}

Deno.test("cri-podman doctor on this host", async (t) => {
  const home = Deno.env.get("HOME") ?? "";
  const dataHome = Deno.env.get("XDG_DATA_HOME") || `${home}/.local/share`;
  const storageBefore = await exists(`${dataHome}/containers`);
  const tmpBefore = await tmpEntries();

  const json = await doctor("--json");
  const checks = JSON.parse(json.stdout) as JsonCheck[];
  const byId = new Map(checks.map((c) => [c.id, c]));
  const verdict = (id: string) => byId.get(id)?.verdict;

  await t.step("--json prints every check once, in order, each well formed", () => {
    assert.deepEqual(checks.map((c) => c.id), IDS, json.stderr);
    for (const c of checks) {
      assert.ok(["ok", "warn", "fail"].includes(c.verdict), c.id);
      assert.ok(c.summary.length > 0 && !c.summary.includes("\n"), c.id);
      if (c.verdict !== "ok") assert.ok(c.fix, `${c.id} is ${c.verdict} and has a fix`);
    }
  });

  await t.step("the exit status is 1 exactly when a check failed", () => {
    assert.equal(json.code, checks.some((c) => c.verdict === "fail") ? 1 : 0);
  });

  await t.step("the text output says the same as the JSON, then the verdict line", async () => {
    const text = await doctor();
    assert.equal(text.code, json.code);
    const lines = text.stdout.trimEnd().split("\n");
    const checkLines = lines.filter((l) => /^(ok {2}|warn|FAIL) /.test(l));
    assert.deepEqual(
      checkLines.map((l) => l.split(/\s+/).slice(0, 2).join(" ")),
      checks.map((c) => `${c.verdict === "fail" ? "FAIL" : c.verdict} ${c.id}`),
    );
    const notOk = checks.filter((c) => c.verdict !== "ok").length;
    assert.equal(lines.filter((l) => /^ +fix: /.test(l)).length, notOk, "one fix line per warning or failure");
    const failed = checks.filter((c) => c.verdict === "fail").map((c) => c.id);
    assert.equal(lines.at(-1), failed.length === 0 ? "pods can run" : `pods cannot run: ${failed.join(", ")}`);
  });

  await t.step("mqueue is ok exactly when an mqueue is mounted at /dev/mqueue", async () => {
    const mounted = (await mounts()).some((m) => m.at === "/dev/mqueue" && m.type === "mqueue");
    assert.equal(verdict("mqueue"), mounted ? "ok" : "warn");
  });

  await t.step("tun is ok exactly when /dev/net/tun opens read-write", async () => {
    let opens = false;
    try {
      (await Deno.open("/dev/net/tun", { read: true, write: true })).close();
      opens = true;
    } catch {
      // not usable
    }
    assert.equal(verdict("tun"), opens ? "ok" : "fail");
  });

  await t.step("cgroups is a warning unless cgroup2 is mounted at /sys/fs/cgroup", async () => {
    const v2 = (await mounts()).some((m) => m.at === "/sys/fs/cgroup" && m.type === "cgroup2");
    if (!v2) assert.equal(verdict("cgroups"), "warn");
    else assert.match(byId.get("cgroups")!.summary, /^Cgroup v2/);
  });

  await t.step("ports is ok exactly when every port is unprivileged", async () => {
    const start = Number((await Deno.readTextFile("/proc/sys/net/ipv4/ip_unprivileged_port_start")).trim());
    assert.equal(verdict("ports"), start === 0 ? "ok" : "warn");
    if (start > 0) assert.ok(byId.get("ports")!.summary.includes(String(start)));
  });

  await t.step("user is a warning exactly for root", () => {
    assert.equal(verdict("user"), Deno.uid() === 0 ? "warn" : "ok");
  });

  await t.step("runtime-dir judges $XDG_RUNTIME_DIR by its owner and mode", async () => {
    const dir = Deno.env.get("XDG_RUNTIME_DIR") || `/run/user/${Deno.uid()}`;
    const st = await Deno.stat(dir).catch(() => undefined);
    if (!st?.isDirectory || st.uid !== Deno.uid() || ((st.mode ?? 0) & 0o200) === 0) {
      assert.equal(verdict("runtime-dir"), "fail");
    } else {
      assert.equal(verdict("runtime-dir"), ((st.mode ?? 0) & 0o077) === 0 ? "ok" : "warn");
    }
  });

  await t.step("podman reports the version `podman --version` prints, or fails without Podman", async () => {
    const out = await new Deno.Command("podman", { args: ["--version"], stdout: "piped", stderr: "null" })
      .output().catch(() => undefined);
    const version = out?.success ? /version (\S+)/.exec(new TextDecoder().decode(out.stdout))?.[1] : undefined;
    if (version === undefined) assert.equal(verdict("podman"), "fail");
    else assert.ok(byId.get("podman")!.summary.startsWith(`Podman ${version}`), byId.get("podman")!.summary);
  });

  await t.step("network fails exactly when slirp4netns or netavark is missing", async () => {
    const helperDirs = ["/usr/local/libexec/podman", "/usr/local/lib/podman", "/usr/libexec/podman", "/usr/lib/podman"];
    const inPath = (name: string) =>
      [...(Deno.env.get("PATH") ?? "").split(":"), "/usr/bin"].filter((d) => d !== "").map((d) => `${d}/${name}`);
    const any = async (paths: string[]) => (await Promise.all(paths.map(exists))).some((e) => e);
    const slirp = await any(inPath("slirp4netns"));
    const netavark = await any(helperDirs.map((d) => `${d}/netavark`));
    const aardvark = await any(helperDirs.map((d) => `${d}/aardvark-dns`));
    assert.equal(verdict("network"), !slirp || !netavark ? "fail" : aardvark ? "ok" : "warn");
  });

  await t.step("keyring is ok when the user's containers.conf turns the keyring off", async () => {
    const configHome = Deno.env.get("XDG_CONFIG_HOME") || `${home}/.config`;
    const conf = await readText(`${configHome}/containers/containers.conf`) ?? "";
    const dropIns = await Array.fromAsync(Deno.readDir(`${configHome}/containers/containers.conf.d`)).catch(() => []);
    const maxkeys = Number((await Deno.readTextFile("/proc/sys/kernel/keys/maxkeys")).trim());
    if (/^\s*keyring\s*=\s*false/m.test(conf) && dropIns.length === 0) assert.equal(verdict("keyring"), "ok");
    else if (maxkeys < 1000 && Deno.uid() !== 0) assert.equal(verdict("keyring"), "warn");
  });

  await t.step("storage is ok on an overlay storage and a warning on a vfs one", async () => {
    const entries = await Array.fromAsync(Deno.readDir(`${dataHome}/containers/storage`)).catch(() => []);
    const names = entries.map((e) => e.name);
    if (names.includes("overlay")) assert.equal(verdict("storage"), "ok");
    else if (names.includes("vfs")) assert.equal(verdict("storage"), "warn");
  });

  await t.step("subuid is ok with 65536 subordinate uids and gids and the uidmap tools", async () => {
    if (Deno.uid() === 0) return;
    const user = Deno.env.get("USER") ?? "";
    const count = (text: string | undefined) =>
      (text ?? "").split("\n").map((l) => l.split(":")).filter(([o]) => o === user || o === String(Deno.uid()))
        .reduce((n, [, , c]) => n + Number(c), 0);
    const tools = await exists("/usr/bin/newuidmap") && await exists("/usr/bin/newgidmap");
    const uids = count(await readText("/etc/subuid"));
    const gids = count(await readText("/etc/subgid"));
    if (tools && uids >= 65536 && gids >= 65536) assert.equal(verdict("subuid"), "ok");
    if (uids === 0 || gids === 0) assert.equal(verdict("subuid"), "fail");
  });

  await t.step("oci-runtime names every installed runtime it judged", async () => {
    const c = byId.get("oci-runtime")!;
    for (const name of ["crun", "runc"]) {
      const installed = await Promise.all(
        ["/usr/bin", "/usr/sbin", "/usr/local/bin"].map((d) => exists(`${d}/${name}`)),
      );
      if (installed.some((e) => e)) assert.ok(`${c.summary} ${c.detail ?? ""}`.includes(name), c.summary);
    }
  });

  await t.step("doctor leaves no trace: no container storage, no temp directory", async () => {
    if (!storageBefore) assert.equal(await exists(`${dataHome}/containers`), false);
    assert.deepEqual(await tmpEntries(), tmpBefore);
  });

  await t.step("a doctor run takes less than 10 s", () => {
    assert.ok(json.ms < 10_000, `${json.ms.toFixed(0)} ms`);
  });
});
