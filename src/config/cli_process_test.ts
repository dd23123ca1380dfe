/**
 * The CLI as a user meets it: `deno run mod.ts …` as a child process, for exit statuses and what goes to stdout and
 * stderr. Every case stops before Podman is touched.
 */
import assert from "node:assert/strict";

const ROOT = new URL("../../", import.meta.url).pathname;
const MOD_TS = `${ROOT}mod.ts`;
const DENO_JSON = `${ROOT}deno.json`;

/** Flags that keep `serve` from starting or finding any Podman. */
const NO_PODMAN = ["--no-embedded-podman", "--podman-socket", "/nonexistent/podman.sock"];

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `cri-podman ARGS` with only `env` (besides PATH and HOME), so the caller's CRI_PODMAN_* cannot leak in. */
async function run(args: string[], env: Record<string, string> = {}): Promise<Run> {
  const configHome = await Deno.makeTempDir({ prefix: "cri-podman-cli-" });
  try {
    const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-all", "--config", DENO_JSON, MOD_TS, ...args],
      clearEnv: true,
      env: {
        PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
        HOME: Deno.env.get("HOME") ?? "/nonexistent",
        ...(Deno.env.get("DENO_DIR") ? { DENO_DIR: Deno.env.get("DENO_DIR")! } : {}),
        // No configuration file but the one a case names; fixed default paths.
        XDG_CONFIG_HOME: configHome,
        XDG_RUNTIME_DIR: "/run/user/1000",
        NO_COLOR: "1",
        ...env,
      },
      stdin: "null",
    }).output();
    const d = new TextDecoder();
    return { code, stdout: d.decode(stdout), stderr: d.decode(stderr) };
  } finally {
    await Deno.remove(configHome, { recursive: true });
  }
}

/** Asserts a user error: status 2, nothing on stdout, and exactly `line` (one line) on stderr. */
function assertUserError(r: Run, line: string | RegExp): void {
  assert.equal(r.code, 2, r.stderr);
  assert.equal(r.stdout, "");
  const lines = r.stderr.trimEnd().split("\n");
  assert.equal(lines.length, 1, `one line on stderr, got:\n${r.stderr}`);
  if (typeof line === "string") assert.equal(lines[0], line);
  else assert.match(lines[0]!, line);
  assert.ok(!r.stderr.includes("    at "), "no stack trace");
}

Deno.test("mod.ts as a process", async (t) => {
  await t.step("a misspelt flag is one line on stderr with a suggestion, status 2", async () => {
    assertUserError(
      await run(["--lsiten"]),
      'cri-podman: Unknown flag "--lsiten" (did you mean --listen?); see cri-podman --help',
    );
  });

  await t.step("a misspelt command is one line on stderr with a suggestion, status 2", async () => {
    assertUserError(
      await run(["serv"]),
      'cri-podman: Unknown command "serv" (did you mean serve?); see cri-podman --help',
    );
  });

  await t.step("a flag missing its value is one line on stderr, status 2", async () => {
    assertUserError(await run(["serve", "--listen"]), /^cri-podman: Flag --listen needs a value/);
  });

  await t.step("--json given to a command other than doctor is one line on stderr, status 2", async () => {
    assertUserError(
      await run(["serve", "--json", ...NO_PODMAN]),
      "cri-podman: Flag --json is only for cri-podman doctor --json, not for serve; see cri-podman --help",
    );
  });

  await t.step("doctor reads the configuration as serve does: a bad value is status 2", async () => {
    assertUserError(
      await run(["doctor", "--json"], { CRI_PODMAN_PODS_DEFAULT_SUBNET: "10.85.0.0/33" }),
      /^cri-podman: Invalid configuration key "pods\.default_subnet"/,
    );
  });

  await t.step("a bad configuration value is one line on stderr naming the key, status 2", async () => {
    assertUserError(
      // Should the check ever let it through, serve fails fast on a Podman socket that is not there.
      await run(["serve", ...NO_PODMAN], { CRI_PODMAN_PODS_DEFAULT_SUBNET: "10.85.0.0/33" }),
      'cri-podman: Invalid configuration key "pods.default_subnet": prefix length 33 is out of range (8–30)',
    );
  });

  await t.step("an unreadable configuration file is one line on stderr, status 2", async () => {
    assertUserError(
      await run(["config", "--config", "/nonexistent/cri-podman.toml"]),
      /^cri-podman: Cannot read configuration file "\/nonexistent\/cri-podman\.toml": /,
    );
  });

  await t.step("a configuration file that is not TOML is one line on stderr, status 2", async () => {
    const path = await Deno.makeTempFile({ suffix: ".toml" });
    try {
      await Deno.writeTextFile(path, "[log]\nlevel = \n");
      assertUserError(
        await run(["config", "-c", path]),
        new RegExp(`^cri-podman: Cannot parse configuration file "${path}" \\(line 2, column \\d+\\): `),
      );
    } finally {
      await Deno.remove(path);
    }
  });

  await t.step("a bare cri-podman prints the short usage to stderr, status 2", async () => {
    const r = await run([]);
    assert.equal(r.code, 2);
    assert.equal(r.stdout, "");
    for (const word of ["serve", "version", "config", "see cri-podman --help"]) {
      assert.ok(r.stderr.includes(word), word);
    }
    assert.ok(!r.stderr.includes("CRI_PODMAN_LISTEN"), "the short usage, not the whole help");
  });

  await t.step("--help, -h and help print the help to stdout, status 0", async () => {
    for (const args of [["--help"], ["-h"], ["help"]]) {
      const r = await run(args);
      assert.equal(r.code, 0, args.join(" "));
      assert.equal(r.stderr, "");
      assert.match(r.stdout, /^Commands:$/m);
      assert.ok(r.stdout.includes("CRI_PODMAN_LISTEN"));
    }
  });

  await t.step("--version and -v print what version prints, status 0", async () => {
    const version = await run(["version"]);
    assert.equal(version.code, 0);
    assert.match(version.stdout, /^cri-podman \d+\.\d+\.\d+ \(CRI v1/);
    for (const flag of ["--version", "-v"]) {
      const r = await run([flag]);
      assert.equal(r.code, 0, flag);
      assert.equal(r.stdout, version.stdout);
      assert.equal(r.stderr, "");
    }
  });

  await t.step("config warns about a misspelt environment variable first, on stderr, and goes on", async () => {
    const r = await run(["config"], { CRI_PODMAN_LSITEN: "/tmp/cri.sock", CRI_PODMAN_FROBNICATE: "1" });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.stderr.trimEnd().split("\n"), [
      "cri-podman: warning: unknown environment variable CRI_PODMAN_FROBNICATE (ignored; see cri-podman --help)",
      "cri-podman: warning: unknown environment variable CRI_PODMAN_LSITEN (did you mean CRI_PODMAN_LISTEN?)",
    ]);
    assert.match(r.stdout, /^listen = "\/run\/user\/1000\/cri-podman\/cri-podman\.sock"$/m);
  });

  await t.step("the warnings come before a configuration error", async () => {
    const r = await run(["serve", ...NO_PODMAN, "--listen", "relative.sock"], { CRI_PODMAN_LSITEN: "/tmp/cri.sock" });
    assert.equal(r.code, 2);
    assert.deepEqual(r.stderr.trimEnd().split("\n"), [
      "cri-podman: warning: unknown environment variable CRI_PODMAN_LSITEN (did you mean CRI_PODMAN_LISTEN?)",
      'cri-podman: Invalid configuration key "listen": must be an absolute path (got "relative.sock")',
    ]);
  });

  await t.step("version does not warn about the environment", async () => {
    const r = await run(["version"], { CRI_PODMAN_LSITEN: "/tmp/cri.sock" });
    assert.equal(r.code, 0);
    assert.equal(r.stderr, "");
  });
});
