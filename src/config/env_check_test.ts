import assert from "node:assert/strict";
import { NON_CONFIG_ENV_VARS, unknownEnvWarnings } from "./env_check.ts";
import { CONFIG_KEYS } from "./schema.ts";

Deno.test("unknownEnvWarnings()", async (t) => {
  await t.step("unknownEnvWarnings() suggests the closest configuration variable for a misspelt one", () => {
    assert.deepEqual(unknownEnvWarnings({ CRI_PODMAN_LSITEN: "/tmp/cri.sock" }), [
      "unknown environment variable CRI_PODMAN_LSITEN (did you mean CRI_PODMAN_LISTEN?)",
    ]);
  });

  const typos: [string, string][] = [
    ["CRI_PODMAN_LOGLEVEL", "CRI_PODMAN_LOG_LEVEL"],
    ["CRI_PODMAN_LOG_LEVL", "CRI_PODMAN_LOG_LEVEL"],
    ["CRI_PODMAN_PODMAN_SOCKT", "CRI_PODMAN_PODMAN_SOCKET"],
    ["CRI_PODMAN_SOCKET", "CRI_PODMAN_PODMAN_SOCKET"],
    ["CRI_PODMAN_INSECURE_REGISTRIES", "CRI_PODMAN_IMAGES_INSECURE_REGISTRIES"],
    ["CRI_PODMAN_PODS_DEFAULT_SUBNETS", "CRI_PODMAN_PODS_DEFAULT_SUBNET"],
    ["CRI_PODMAN_CONFG", "CRI_PODMAN_CONFIG"],
    ["CRI_PODMAN_listen", "CRI_PODMAN_LISTEN"],
  ];
  for (const [name, want] of typos) {
    await t.step(`unknownEnvWarnings() suggests ${want} for ${name}`, () => {
      assert.deepEqual(unknownEnvWarnings({ [name]: "x" }), [
        `unknown environment variable ${name} (did you mean ${want}?)`,
      ]);
    });
  }

  await t.step("unknownEnvWarnings() names an unknown variable that is close to nothing, without a suggestion", () => {
    assert.deepEqual(unknownEnvWarnings({ CRI_PODMAN_FROBNICATE: "1" }), [
      "unknown environment variable CRI_PODMAN_FROBNICATE (ignored; see cri-podman --help)",
    ]);
  });

  await t.step("unknownEnvWarnings() says nothing about configuration variables, even empty ones", () => {
    const env = Object.fromEntries(CONFIG_KEYS.map((doc) => [doc.env, ""]));
    assert.deepEqual(unknownEnvWarnings(env), []);
  });

  await t.step("unknownEnvWarnings() says nothing about the variables scripts and the test harness use", () => {
    assert.deepEqual(
      unknownEnvWarnings({
        CRI_PODMAN_CONFIG: "/etc/c.toml",
        CRI_PODMAN_USER: "cripodman",
        CRI_PODMAN_TEST_TIMEOUT: "60",
        CRI_PODMAN_HARNESS_LOG: "/tmp/log",
      }),
      [],
    );
  });

  await t.step("unknownEnvWarnings() ignores variables without the CRI_PODMAN_ prefix", () => {
    assert.deepEqual(
      unknownEnvWarnings({ HOME: "/home/u", CRI_PODMAN: "x", cri_podman_listen: "x", PODMAN_X: "" }),
      [],
    );
  });

  await t.step("unknownEnvWarnings() gives one warning per variable, sorted by name", () => {
    const warnings = unknownEnvWarnings({ CRI_PODMAN_ZZZ: "", CRI_PODMAN_LISTEN: "/x", CRI_PODMAN_AAA: "" });
    assert.equal(warnings.length, 2);
    assert.match(warnings[0]!, /CRI_PODMAN_AAA/);
    assert.match(warnings[1]!, /CRI_PODMAN_ZZZ/);
  });
});

Deno.test("NON_CONFIG_ENV_VARS lists every other CRI_PODMAN_* variable the repository reads", async () => {
  const root = new URL("../../", import.meta.url).pathname;
  // Names that look like variables but are not: the TypeScript constant of src/version.ts.
  const notVariables = new Set(["CRI_PODMAN_VERSION"]);
  const known = new Set([...CONFIG_KEYS.map((doc) => doc.env), ...NON_CONFIG_ENV_VARS, ...notVariables]);
  const found = new Map<string, string>();
  for await (const file of walk(root, ["scripts", "tests", "src", "bench", "tools", ".ci", "mod.ts"])) {
    // The tests of src/config/ misspell names on purpose.
    if (/src\/config\/[^/]*_test\.ts$/.test(file)) continue;
    const text = await Deno.readTextFile(file);
    for (const m of text.matchAll(/\bCRI_PODMAN_[A-Z0-9_]*[A-Z0-9]/g)) {
      if (!known.has(m[0])) found.set(m[0], file.slice(root.length));
    }
  }
  assert.deepEqual(
    [...found].map(([name, file]) => `${name} (${file})`),
    [],
    "add these to NON_CONFIG_ENV_VARS in src/config/env_check.ts, or to CONFIG_KEYS",
  );
});

/** Every text file under the given entries of `root`, skipping generated and vendored directories. */
async function* walk(root: string, entries: readonly string[]): AsyncGenerator<string> {
  for (const entry of entries) {
    const path = `${root}${entry}`;
    const stat = await Deno.stat(path).catch(() => undefined);
    if (!stat) continue;
    if (stat.isFile) {
      yield path;
      continue;
    }
    for await (const child of Deno.readDir(path)) {
      if (child.name === "node_modules" || child.name === "gen" || child.name.startsWith(".git")) continue;
      if (child.isDirectory) yield* walk(`${path}/`, [child.name]);
      else if (child.isFile && /\.(ts|sh|js|json|toml|md)$|^[^.]+$/.test(child.name)) yield `${path}/${child.name}`;
    }
  }
}
