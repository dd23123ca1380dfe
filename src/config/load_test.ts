import assert from "node:assert/strict";
import { parse as parseToml } from "smol-toml";
import { ConfigError, type ConfigSources, configToToml, resolveConfig } from "./load.ts";
import { CONFIG_KEYS, defaultConfig } from "./schema.ts";

const RUNTIME_DIR = "/run/user/1000";

/** Resolves with the given sources on top of the test runtime directory and an empty environment. */
function resolve(sources: Partial<ConfigSources> = {}) {
  return resolveConfig({ runtimeDir: RUNTIME_DIR, env: {}, ...sources });
}

function file(text: string): NonNullable<ConfigSources["file"]> {
  return { path: "/etc/cri-podman.toml", text };
}

/** Asserts that `fn` throws a ConfigError whose message matches every pattern. */
function assertConfigError(fn: () => unknown, ...patterns: RegExp[]): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${err}`);
    for (const p of patterns) assert.match(err.message, p);
    return true;
  });
}

/** The dotted paths of every leaf of a configuration object. */
/** Keys whose value is a free-form table (its own keys are data, not configuration keys). */
const TABLE_KEYS = new Set(["runtime_handlers"]);

function leafKeys(obj: Record<string, unknown>, prefix = ""): string[] {
  return Object.entries(obj).flatMap(([k, v]) =>
    typeof v === "object" && v !== null && !Array.isArray(v) && !TABLE_KEYS.has(`${prefix}${k}`)
      ? leafKeys(v as Record<string, unknown>, `${prefix}${k}.`)
      : [`${prefix}${k}`]
  );
}

function getKey(obj: unknown, dotted: string): unknown {
  return dotted.split(".").reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], obj);
}

Deno.test("resolveConfig() defaults", async (t) => {
  await t.step("resolveConfig() derives the default socket paths from the runtime directory", () => {
    const config = resolve();
    assert.equal(config.listen, "/run/user/1000/cri-podman/cri-podman.sock");
    assert.equal(config.podman.socket, "/run/user/1000/podman/podman.sock");
    assert.deepEqual(config, defaultConfig(RUNTIME_DIR));
  });

  await t.step("resolveConfig() gives the documented defaults", () => {
    const config = resolve({ runtimeDir: "/run/user/2000" });
    assert.deepEqual(config, {
      listen: "/run/user/2000/cri-podman/cri-podman.sock",
      shutdown_grace_seconds: 10,
      node: false,
      podman: {
        socket: "/run/user/2000/podman/podman.sock",
        embedded_service: true,
        binary: "podman",
        start_timeout_seconds: 30,
        request_timeout_seconds: 120,
      },
      images: { insecure_registries: ["localhost", "127.0.0.1", "[::1]"] },
      pods: { infra_image: "", network: "cri-podman", default_subnet: "10.85.0.0/16" },
      runtime_handlers: {},
      streaming: {
        address: "127.0.0.1",
        port: 0,
        tls_cert: "",
        tls_key: "",
        token_ttl_seconds: 60,
        idle_timeout_seconds: 14400,
        max_sessions: 64,
      },
      metrics: { address: "" },
      log: { level: "info", format: "text" },
    });
  });

  await t.step("CONFIG_KEYS documents exactly the keys of the configuration", () => {
    assert.deepEqual(
      CONFIG_KEYS.map((k) => k.key).sort(),
      leafKeys(defaultConfig(RUNTIME_DIR) as unknown as Record<string, unknown>).sort(),
    );
  });

  await t.step("CONFIG_KEYS names each environment variable after its key", () => {
    for (const doc of CONFIG_KEYS) {
      assert.equal(doc.env, `CRI_PODMAN_${doc.key.replaceAll(".", "_").toUpperCase()}`);
    }
  });
});

Deno.test("resolveConfig() layers", async (t) => {
  await t.step("resolveConfig() takes values from the file over the defaults", () => {
    const config = resolve({
      file: file(`listen = "/tmp/cri.sock"\n[podman]\nembedded_service = false\n[log]\nformat = "json"\n`),
    });
    assert.equal(config.listen, "/tmp/cri.sock");
    assert.equal(config.podman.embedded_service, false);
    assert.equal(config.log.format, "json");
    // Keys of a table the file leaves out keep their defaults.
    assert.equal(config.podman.socket, "/run/user/1000/podman/podman.sock");
    assert.equal(config.log.level, "info");
  });

  await t.step("resolveConfig() takes the environment over the file", () => {
    const config = resolve({
      file: file(`listen = "/tmp/file.sock"\n[log]\nlevel = "warn"\n`),
      env: { CRI_PODMAN_LISTEN: "/tmp/env.sock" },
    });
    assert.equal(config.listen, "/tmp/env.sock");
    assert.equal(config.log.level, "warn");
  });

  await t.step("resolveConfig() takes flags over the environment and the file", () => {
    const config = resolve({
      file: file(`listen = "/tmp/file.sock"\n[podman]\nsocket = "/tmp/file-podman.sock"\n`),
      env: { CRI_PODMAN_LISTEN: "/tmp/env.sock", CRI_PODMAN_PODMAN_SOCKET: "/tmp/env-podman.sock" },
      flags: { listen: "/tmp/flag.sock" },
    });
    assert.equal(config.listen, "/tmp/flag.sock");
    assert.equal(config.podman.socket, "/tmp/env-podman.sock");
  });

  await t.step("resolveConfig() ignores empty environment variables and ones it does not know", () => {
    const config = resolve({ env: { CRI_PODMAN_LISTEN: "", CRI_PODMAN_LOG_LEVEL: undefined, HOME: "/home/u" } });
    assert.deepEqual(config, defaultConfig(RUNTIME_DIR));
  });

  await t.step("resolveConfig() converts environment values to each key's type", () => {
    const config = resolve({
      env: {
        CRI_PODMAN_SHUTDOWN_GRACE_SECONDS: "2.5",
        CRI_PODMAN_PODMAN_EMBEDDED_SERVICE: "false",
        CRI_PODMAN_PODMAN_BINARY: "/usr/local/bin/podman",
        CRI_PODMAN_PODMAN_START_TIMEOUT_SECONDS: "0",
        CRI_PODMAN_PODMAN_REQUEST_TIMEOUT_SECONDS: "3600",
        CRI_PODMAN_LOG_LEVEL: "debug",
        CRI_PODMAN_LOG_FORMAT: "json",
      },
    });
    assert.equal(config.shutdown_grace_seconds, 2.5);
    assert.equal(config.podman.embedded_service, false);
    assert.equal(config.podman.binary, "/usr/local/bin/podman");
    assert.equal(config.podman.start_timeout_seconds, 0);
    assert.equal(config.podman.request_timeout_seconds, 3600);
    assert.equal(config.log.level, "debug");
    assert.equal(config.log.format, "json");
  });

  const bools: [string, boolean][] = [
    ["1", true],
    ["true", true],
    ["TRUE", true],
    ["yes", true],
    ["on", true],
    ["0", false],
    ["false", false],
    ["No", false],
    ["off", false],
  ];
  for (const [raw, want] of bools) {
    await t.step(`resolveConfig() reads the environment boolean ${JSON.stringify(raw)} as ${want}`, () => {
      assert.equal(resolve({ env: { CRI_PODMAN_PODMAN_EMBEDDED_SERVICE: raw } }).podman.embedded_service, want);
    });
  }

  const lists: [string, string[]][] = [
    ["registry.local:5000", ["registry.local:5000"]],
    ["a,b", ["a", "b"]],
    [" a , b:5000 ,, [::1] ", ["a", "b:5000", "[::1]"]],
    [",", []],
  ];
  for (const [raw, want] of lists) {
    await t.step(`resolveConfig() splits the environment list ${JSON.stringify(raw)} on commas`, () => {
      assert.deepEqual(
        resolve({ env: { CRI_PODMAN_IMAGES_INSECURE_REGISTRIES: raw } }).images.insecure_registries,
        want,
      );
    });
  }

  await t.step("resolveConfig() replaces a list rather than appending to it", () => {
    const config = resolve({ file: file(`[images]\ninsecure_registries = ["reg:5000"]\n`) });
    assert.deepEqual(config.images.insecure_registries, ["reg:5000"]);
  });

  await t.step("resolveConfig() takes boolean flags", () => {
    assert.equal(resolve({ flags: { "podman.embedded_service": false } }).podman.embedded_service, false);
  });
});

Deno.test("resolveConfig() errors", async (t) => {
  const unknown: [string, string, RegExp][] = [
    ["a misspelt key in a table", `[podman]\nsockett = "/x"\n`, /"podman\.sockett": unknown key/],
    ["an unknown top-level key", `bogus = 1\n`, /"bogus": unknown key/],
    ["an unknown top-level table", `[foo]\na = 1\n`, /"foo": unknown key/],
    ["an unknown key in [log]", `[log]\ncolour = true\n`, /"log\.colour": unknown key/],
  ];
  for (const [what, text, pattern] of unknown) {
    await t.step(`resolveConfig() rejects ${what}, naming it`, () => {
      assertConfigError(() => resolve({ file: file(text) }), pattern, /\/etc\/cri-podman\.toml/);
    });
  }

  await t.step("resolveConfig() rejects an unknown flag key, naming it", () => {
    assertConfigError(() => resolve({ flags: { "podman.sockett": "/x" } }), /"podman\.sockett": unknown key/);
  });

  const bad: [string, Partial<ConfigSources>, RegExp[]][] = [
    [
      "a relative socket path in the file",
      { file: file(`[podman]\nsocket = "podman.sock"\n`) },
      [/"podman\.socket"/, /absolute path/],
    ],
    ["a relative listen path from a flag", { flags: { listen: "cri.sock" } }, [/"listen"/, /absolute path/]],
    ["negative seconds", { file: file(`shutdown_grace_seconds = -1\n`) }, [/"shutdown_grace_seconds"/, /negative/]],
    [
      "seconds above 3600",
      { file: file(`[podman]\nrequest_timeout_seconds = 3601\n`) },
      [/"podman\.request_timeout_seconds"/, /at most 3600/],
    ],
    [
      "negative seconds from the environment",
      { env: { CRI_PODMAN_PODMAN_START_TIMEOUT_SECONDS: "-5" } },
      [/"podman\.start_timeout_seconds"/, /negative/],
    ],
    ["a bad log level", { file: file(`[log]\nlevel = "loud"\n`) }, [/"log\.level"/, /debug, info, warn, error/]],
    ["a bad log level flag", { flags: { "log.level": "trace" } }, [/"log\.level"/]],
    ["a bad log format", { env: { CRI_PODMAN_LOG_FORMAT: "yaml" } }, [/"log\.format"/, /text or json/]],
    ["a value of the wrong type", { file: file(`listen = 5\n`) }, [/"listen"/]],
    ["a table where a value belongs", { file: file(`[listen]\na = "b"\n`) }, [/"listen"/]],
    ["an empty binary", { file: file(`[podman]\nbinary = ""\n`) }, [/"podman\.binary"/, /must not be empty/]],
    [
      "an empty registry name",
      { file: file(`[images]\ninsecure_registries = [""]\n`) },
      [/"images\.insecure_registries\.0"/, /empty/],
    ],
    [
      "an environment boolean that is not one",
      { env: { CRI_PODMAN_PODMAN_EMBEDDED_SERVICE: "maybe" } },
      [/CRI_PODMAN_PODMAN_EMBEDDED_SERVICE="maybe"/, /not a boolean/],
    ],
    [
      "an environment number that is not one",
      { env: { CRI_PODMAN_SHUTDOWN_GRACE_SECONDS: "x" } },
      [/CRI_PODMAN_SHUTDOWN_GRACE_SECONDS="x"/, /not a number/],
    ],
    [
      "an infinite environment number",
      { env: { CRI_PODMAN_PODMAN_REQUEST_TIMEOUT_SECONDS: "Infinity" } },
      [/CRI_PODMAN_PODMAN_REQUEST_TIMEOUT_SECONDS/, /not a number/],
    ],
    [
      "a file that is not TOML",
      { file: file(`listen = \n`) },
      [/^Cannot parse configuration file "\/etc\/cri-podman\.toml"/],
    ],
  ];
  for (const [what, sources, patterns] of bad) {
    await t.step(`resolveConfig() rejects ${what}, naming the key`, () => {
      assertConfigError(() => resolve(sources), ...patterns);
    });
  }

  const named: [string, Partial<ConfigSources>, string][] = [
    [
      "a subnet prefix length out of range",
      { env: { CRI_PODMAN_PODS_DEFAULT_SUBNET: "10.85.0.0/33" } },
      'Invalid configuration key "pods.default_subnet": prefix length 33 is out of range (8–30)',
    ],
    [
      "a subnet with host bits",
      { flags: { "pods.default_subnet": "10.85.0.1/16" } },
      'Invalid configuration key "pods.default_subnet": "10.85.0.1/16" has host bits set: the network address ' +
      'would be "10.85.0.0/16"',
    ],
    [
      "a subnet with an octet out of range",
      { flags: { "pods.default_subnet": "10.256.0.0/16" } },
      'Invalid configuration key "pods.default_subnet": "10.256.0.0/16" is not an IPv4 CIDR: octet "256" is out of ' +
      "range (0–255)",
    ],
    [
      "an insecure registry with a scheme",
      { env: { CRI_PODMAN_IMAGES_INSECURE_REGISTRIES: "localhost,http://bad host/" } },
      'Invalid configuration key "images.insecure_registries.1": "http://bad host/" is not a registry host[:port]: ' +
      'drop the scheme "http://"',
    ],
    [
      "a listen path with a .. segment",
      { flags: { listen: "/run/user/1000/../cri.sock" } },
      'Invalid configuration key "listen": "/run/user/1000/../cri.sock" must not contain ".." segments',
    ],
    [
      "a Podman socket path too long for a unix socket",
      { env: { CRI_PODMAN_PODMAN_SOCKET: `/${"p".repeat(119)}` } },
      `Invalid configuration key "podman.socket": "/${"p".repeat(119)}" is 120 bytes long; a unix socket path ` +
      "must be shorter than 108 bytes (the kernel's limit): choose a shorter path",
    ],
    [
      "a runtime handler with a relative path",
      { env: { CRI_PODMAN_RUNTIME_HANDLERS: "kata=bin/kata-runtime" } },
      'Invalid configuration key "runtime_handlers.kata": "bin/kata-runtime" is a relative path: give a name ' +
      'Podman looks up (e.g. "crun") or an absolute path',
    ],
    [
      "an infra image with an upper-case repository",
      { env: { CRI_PODMAN_PODS_INFRA_IMAGE: "registry.k8s.io/Pause:3.10" } },
      'Invalid configuration key "pods.infra_image": "registry.k8s.io/Pause:3.10" is not an image reference: the ' +
      "repository name must be lower case",
    ],
  ];
  for (const [what, sources, message] of named) {
    await t.step(`resolveConfig() refuses ${what}, naming the key`, () => {
      assert.throws(() => resolve(sources), (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.equal(err.message, message);
        return true;
      });
    });
  }

  await t.step("resolveConfig() refuses a bad value from the file, naming the key and the file", () => {
    assert.throws(() => resolve({ file: file(`[images]\ninsecure_registries = ["reg.local/v2"]\n`) }), {
      message: 'Invalid configuration key "images.insecure_registries.0": "reg.local/v2" is not a registry ' +
        'host[:port]: drop the path "/v2" (file "/etc/cri-podman.toml", environment and flags)',
    });
  });

  await t.step("resolveConfig() accepts good values of the checked keys", () => {
    const config = resolve({
      env: {
        CRI_PODMAN_PODS_DEFAULT_SUBNET: "10.89.4.0/22",
        CRI_PODMAN_IMAGES_INSECURE_REGISTRIES: "registry.local:5000,[::1]:5000,10.0.0.5",
        CRI_PODMAN_RUNTIME_HANDLERS: "runc=runc,kata=/usr/bin/kata-runtime",
        CRI_PODMAN_PODS_INFRA_IMAGE: "registry.k8s.io/pause:3.10",
      },
      flags: { listen: "/tmp/cri.sock", "podman.socket": "/tmp/podman.sock" },
    });
    assert.equal(config.pods.default_subnet, "10.89.4.0/22");
    assert.deepEqual(config.images.insecure_registries, ["registry.local:5000", "[::1]:5000", "10.0.0.5"]);
  });

  await t.step("resolveConfig() refuses a default socket path that a long runtime directory makes too long", () => {
    assertConfigError(
      () => resolve({ runtimeDir: `/run/${"u".repeat(100)}` }),
      /^Invalid configuration key "listen": .*108 bytes/,
    );
  });

  await t.step("resolveConfig() says where a TOML syntax error is, on one line", () => {
    assertConfigError(
      () => resolve({ file: file(`[log]\nlevel = \n`) }),
      /^Cannot parse configuration file "\/etc\/cri-podman\.toml" \(line 2, column \d+\): [^\n]+$/,
    );
  });

  await t.step("resolveConfig() errors say where the values came from only when there is a file", () => {
    assertConfigError(
      () => resolve({ flags: { listen: "x" } }),
      /^Invalid configuration key "listen": must be an absolute path \(got "x"\)$/,
    );
  });
});

Deno.test("resolveConfig() result", async (t) => {
  await t.step("resolveConfig() returns a deeply frozen configuration", () => {
    const config = resolve({ file: file(`[images]\ninsecure_registries = ["a"]\n`) });
    assert.ok(Object.isFrozen(config));
    assert.ok(Object.isFrozen(config.podman));
    assert.ok(Object.isFrozen(config.images));
    assert.ok(Object.isFrozen(config.log));
    assert.ok(Object.isFrozen(config.images.insecure_registries));
    assert.throws(() => {
      (config as { listen: string }).listen = "/x";
    }, TypeError);
    assert.throws(() => {
      (config.images.insecure_registries as string[]).push("evil");
    }, TypeError);
  });

  await t.step("resolveConfig() does not share state between calls", () => {
    const a = resolve();
    const b = resolve({ env: { CRI_PODMAN_IMAGES_INSECURE_REGISTRIES: "x" } });
    assert.deepEqual(a.images.insecure_registries, ["localhost", "127.0.0.1", "[::1]"]);
    assert.deepEqual(b.images.insecure_registries, ["x"]);
  });

  await t.step("configToToml() renders a configuration that resolves to itself", () => {
    const config = resolve({ env: { CRI_PODMAN_LOG_LEVEL: "debug", CRI_PODMAN_IMAGES_INSECURE_REGISTRIES: "a,b" } });
    assert.deepEqual(resolve({ runtimeDir: "/elsewhere", file: file(configToToml(config)) }), config);
  });
});

Deno.test("runtime_handlers", async (t) => {
  await t.step(
    "resolveConfig() reads runtime handlers from the file and from name=value pairs in the environment",
    () => {
      const fromFile = resolve({ file: { path: "c.toml", text: '[runtime_handlers]\nrunc = "runc"\n' } });
      assert.deepEqual(fromFile.runtime_handlers, { runc: "runc" });
      const fromEnv = resolve({ env: { CRI_PODMAN_RUNTIME_HANDLERS: "runc=runc, kata=/usr/bin/kata-runtime" } });
      assert.deepEqual(fromEnv.runtime_handlers, { runc: "runc", kata: "/usr/bin/kata-runtime" });
    },
  );
  await t.step("resolveConfig() rejects a handler name that is not a DNS label, naming the key", () => {
    assert.throws(
      () => resolve({ file: { path: "c.toml", text: '[runtime_handlers]\n"Bad_Name" = "runc"\n' } }),
      /runtime_handlers\.Bad_Name/,
    );
  });
});

Deno.test("examples/config.toml", async (t) => {
  const text = await Deno.readTextFile(new URL("../../examples/config.toml", import.meta.url));

  await t.step("examples/config.toml resolves to a valid configuration", () => {
    const config = resolve({ file: { path: "examples/config.toml", text } });
    assert.deepEqual(config, defaultConfig(RUNTIME_DIR), "the example must list the defaults for /run/user/1000");
  });

  await t.step("examples/config.toml sets every configuration key", () => {
    const parsed = parseToml(text);
    for (const doc of CONFIG_KEYS) {
      assert.notEqual(getKey(parsed, doc.key), undefined, `examples/config.toml does not set ${doc.key}`);
    }
  });

  await t.step("examples/config.toml names every environment variable and flag", () => {
    for (const doc of CONFIG_KEYS) {
      assert.ok(text.includes(doc.env), `examples/config.toml does not mention ${doc.env}`);
      for (const flag of doc.flag?.replace("--[no-]", "--").split(" ") ?? []) {
        assert.ok(text.includes(flag), `examples/config.toml does not mention ${flag}`);
      }
    }
  });
});

Deno.test("examples/crictl.yaml points crictl at the default listen socket of uid 1001", async () => {
  const text = await Deno.readTextFile(new URL("../../examples/crictl.yaml", import.meta.url));
  const expected = `unix://${defaultConfig("/run/user/1001").listen}`;
  assert.match(text, new RegExp(`^runtime-endpoint: ${expected}$`, "m"));
  assert.match(text, new RegExp(`^image-endpoint: ${expected}$`, "m"));
});
