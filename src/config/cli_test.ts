import assert from "node:assert/strict";
import { type Cli, COMMANDS, FLAGS, helpText, parseCli, usageText } from "./cli.ts";
import { ConfigError, resolveConfig } from "./load.ts";
import { CONFIG_KEYS, defaultConfig } from "./schema.ts";

const RUNTIME_DIR = "/run/user/1000";

/** Asserts that `parseCli(args)` throws a one-line ConfigError equal to `message`. */
function assertCliError(args: string[], message: string | RegExp): void {
  assert.throws(() => parseCli(args), (err: unknown) => {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${err}`);
    if (typeof message === "string") assert.equal(err.message, message);
    else assert.match(err.message, message);
    assert.ok(!err.message.includes("\n"), "one line");
    return true;
  });
}

Deno.test("parseCli() commands", async (t) => {
  const commands: [string[], Cli["command"]][] = [
    [[], null],
    [["--listen", "/tmp/cri.sock"], null],
    [["serve"], "serve"],
    [["version"], "version"],
    [["--version"], "version"],
    [["-v"], "version"],
    [["config"], "config"],
    [["doctor"], "doctor"],
    [["help"], "help"],
    [["--help"], "help"],
    [["-h"], "help"],
    [["serve", "--help"], "help"],
    [["config", "-v"], "version"],
    [["--version", "--help"], "help"],
    [["node"], "node"],
    [["node", "--", "critest", "--help"], "node"],
  ];
  for (const [args, command] of commands) {
    await t.step(`parseCli() reads ${JSON.stringify(args)} as ${command ?? "no command"}`, () => {
      assert.equal(parseCli(args).command, command);
    });
  }
});

Deno.test("parseCli() node's command", async (t) => {
  await t.step("what follows -- is node's command, flags included, and cri-podman's flags before it are read", () => {
    assert.deepEqual(parseCli(["node", "-c", "/etc/c.toml", "--", "critest", "--ginkgo.focus", "x", "--", "y"]), {
      command: "node",
      configPath: "/etc/c.toml",
      flags: {},
      argv: ["critest", "--ginkgo.focus", "x", "--", "y"],
    });
    assert.deepEqual(parseCli(["node"]), { command: "node", flags: {} });
  });
  await t.step("another command after -- is refused, naming it", () => {
    assert.throws(
      () => parseCli(["serve", "--", "kubelet"]),
      /Only cri-podman node takes a command after "--" \(got "kubelet"\)/,
    );
    assert.throws(() => parseCli(["--", "serve"]), /Only cri-podman node/);
  });
});

Deno.test("parseCli() flags", async (t) => {
  await t.step("parseCli() maps flags to configuration keys", () => {
    assert.deepEqual(
      parseCli(["serve", "--listen", "/tmp/cri.sock", "--podman-socket=/tmp/p.sock", "--log-level", "debug"]),
      {
        command: "serve",
        flags: { listen: "/tmp/cri.sock", "podman.socket": "/tmp/p.sock", "log.level": "debug" },
      },
    );
  });

  await t.step("parseCli() reads --no-embedded-podman as podman.embedded_service = false", () => {
    assert.deepEqual(parseCli(["serve", "--no-embedded-podman"]).flags, { "podman.embedded_service": false });
  });

  await t.step("parseCli() reads --embedded-podman as podman.embedded_service = true", () => {
    assert.deepEqual(parseCli(["--embedded-podman", "serve"]).flags, { "podman.embedded_service": true });
  });

  await t.step("parseCli() takes the last of a repeated flag", () => {
    assert.deepEqual(parseCli(["serve", "--log-level", "warn", "--log-level=error"]).flags, { "log.level": "error" });
  });

  await t.step("parseCli() reads --json as an option of doctor, apart from the configuration flags", () => {
    assert.deepEqual(parseCli(["doctor", "--json", "--podman-socket", "/tmp/p.sock"]), {
      command: "doctor",
      flags: { "podman.socket": "/tmp/p.sock" },
      options: { json: true },
    });
    assert.deepEqual(parseCli(["--json", "doctor"]).options, { json: true });
    assert.ok(!("options" in parseCli(["doctor"])), "no options key without a command flag");
  });

  await t.step("parseCli() lets --help beat a command flag given to another command", () => {
    assert.equal(parseCli(["serve", "--json", "--help"]).command, "help");
  });

  await t.step("parseCli() reads the configuration path from --config and -c", () => {
    assert.equal(parseCli(["serve", "--config", "/etc/c.toml"]).configPath, "/etc/c.toml");
    assert.equal(parseCli(["-c", "/etc/c.toml", "config"]).configPath, "/etc/c.toml");
    assert.equal(parseCli(["config", "--config=/etc/c.toml"]).configPath, "/etc/c.toml");
    assert.ok(!("configPath" in parseCli(["serve"])));
  });

  await t.step("parseCli() takes an explicit empty value, which the configuration then refuses", () => {
    const flags = parseCli(["serve", "--listen="]).flags;
    assert.deepEqual(flags, { listen: "" });
    assert.throws(() => resolveConfig({ runtimeDir: RUNTIME_DIR, env: {}, flags }), /"listen": must be an absolute/);
  });

  await t.step("parseCli() flags feed resolveConfig()", () => {
    const flags = parseCli(["serve", "--no-embedded-podman", "--log-level", "warn"]).flags;
    const config = resolveConfig({ runtimeDir: RUNTIME_DIR, env: {}, flags });
    assert.equal(config.podman.embedded_service, false);
    assert.equal(config.log.level, "warn");
  });
});

Deno.test("parseCli() errors", async (t) => {
  const errors: [string, string[], string | RegExp][] = [
    [
      "a misspelt flag, suggesting the closest",
      ["--lsiten"],
      'Unknown flag "--lsiten" (did you mean --listen?); see cri-podman --help',
    ],
    [
      "a misspelt flag with a value, suggesting the closest",
      ["serve", "--podman-sockt=/x"],
      'Unknown flag "--podman-sockt" (did you mean --podman-socket?); see cri-podman --help',
    ],
    ["the start of a flag", ["serve", "--log", "debug"], /^Unknown flag "--log" \(did you mean --log-level\?\)/],
    ["a flag close to nothing", ["serve", "--frobnicate"], 'Unknown flag "--frobnicate"; see cri-podman --help'],
    ["an unknown short flag", ["serve", "-x"], 'Unknown flag "-x"; see cri-podman --help'],
    [
      "a misspelt command, suggesting the closest",
      ["serv"],
      'Unknown command "serv" (did you mean serve?); see cri-podman --help',
    ],
    ["a misspelt command", ["verison"], /^Unknown command "verison" \(did you mean version\?\)/],
    [
      "a command close to nothing, listing the commands",
      ["start"],
      'Unknown command "start" (expected one of serve, version, config, doctor, node, help); see cri-podman --help',
    ],
    ["a second positional argument", ["serve", "now"], 'Unexpected argument "now"; see cri-podman --help'],
    [
      "a flag missing its value at the end",
      ["serve", "--listen"],
      "Flag --listen needs a value (--listen PATH); see cri-podman --help",
    ],
    ["a short flag missing its value", ["serve", "-c"], "Flag -c needs a value (-c PATH); see cri-podman --help"],
    [
      "a flag followed by another flag instead of its value",
      ["serve", "--listen", "--log-level", "debug"],
      'Flag --listen needs a value, not the flag "--log-level" (a value starting with "-" is written ' +
      "--listen=PATH); see cri-podman --help",
    ],
    [
      "--json for a command other than doctor",
      ["serve", "--json"],
      "Flag --json is only for cri-podman doctor --json, not for serve; see cri-podman --help",
    ],
    ["--json for config", ["--json", "config"], /^Flag --json is only for cri-podman doctor --json, not for config;/],
    ["--json without a command", ["--json"], "Flag --json is only for cri-podman doctor --json; see cri-podman --help"],
    ["--json with a value", ["doctor", "--json=yes"], /^Flag --json takes no value/],
    [
      "a value given to a flag that takes none",
      ["serve", "--no-embedded-podman=yes"],
      'Flag --no-embedded-podman takes no value (got "--no-embedded-podman=yes"); see cri-podman --help',
    ],
  ];
  for (const [what, args, message] of errors) {
    await t.step(`parseCli() refuses ${what}, on one line`, () => assertCliError(args, message));
  }
});

Deno.test("the tables of commands and flags", async (t) => {
  await t.step("FLAGS sets exactly the configuration keys CONFIG_KEYS gives a flag", () => {
    const fromFlags = FLAGS.filter((f) => f.key !== undefined).map((f) => `${f.key} --${f.long}`).sort();
    const fromKeys = CONFIG_KEYS.flatMap((k) =>
      k.flag === undefined
        ? []
        : k.flag.startsWith("--[no-]")
        ? [`${k.key} --${k.flag.slice(7)}`, `${k.key} --no-${k.flag.slice(7)}`]
        : [`${k.key} ${k.flag}`]
    ).sort();
    assert.deepEqual(fromFlags, fromKeys);
  });

  await t.step("usageText() lists every command and points to --help", () => {
    const text = usageText();
    for (const c of COMMANDS) {
      assert.match(text, new RegExp(`^  ${c.name} +${c.summary.replace(/[()]/g, "\\$&")}$`, "m"));
    }
    assert.match(text, /see cri-podman --help/);
    assert.ok(!text.includes("CRI_PODMAN_LISTEN"), "short: no configuration keys");
  });

  await t.step("helpText() lists every command, flag and key with its environment variable and default", () => {
    const text = helpText(defaultConfig(RUNTIME_DIR) as unknown as Record<string, unknown>);
    for (const c of COMMANDS) assert.ok(text.includes(`  ${c.name.padEnd(10)} ${c.summary}`), c.name);
    for (const f of FLAGS) {
      assert.ok(text.includes(`--${f.long}`) || text.includes(`--[no-]${f.long.replace(/^no-/, "")}`), f.long);
    }
    for (const doc of CONFIG_KEYS) {
      assert.ok(text.includes(doc.key), doc.key);
      assert.ok(text.includes(doc.env), doc.env);
      if (doc.flag) assert.ok(text.includes(doc.flag), doc.flag);
    }
    assert.match(text, /-v, --version/);
    assert.ok(text.includes('(default: "/run/user/1000/podman/podman.sock")'));
    assert.ok(text.includes('(default: ["localhost","127.0.0.1","[::1]"])'));
  });
});
