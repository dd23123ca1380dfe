import assert from "node:assert/strict";
import {
  filterOciConfig,
  MASKED_PATHS_ANNOTATION,
  OCI_PATHS_HOOK_TIMEOUT_SECONDS,
  ociPathsAnnotations,
  ociPathsHookFile,
  READONLY_PATHS_ANNOTATION,
} from "./oci_paths_hook.ts";

/** A trimmed OCI config as Podman 4.3 hands it to a precreate hook. */
const PODMAN_DEFAULTS = {
  maskedPaths: ["/proc/acpi", "/proc/kcore", "/proc/keys"],
  readonlyPaths: ["/proc/asound", "/proc/bus", "/proc/sys"],
};
function ociConfig(annotations: Record<string, string> | undefined, linux: unknown = PODMAN_DEFAULTS) {
  return {
    ociVersion: "1.0.2-dev",
    process: { args: ["/bin/sh"], cwd: "/" },
    root: { path: "/var/lib/containers/x/merged" },
    ...(annotations === undefined ? {} : { annotations }),
    ...(linux === undefined ? {} : { linux: linux as Record<string, unknown> }),
  };
}

/**
 * filterOciConfig as the hook runs it: its source text alone, outside this module (a reference to anything else of
 * the module would fail here with a ReferenceError).
 */
const standaloneFilter = new Function(`return (${filterOciConfig.toString()});`)() as typeof filterOciConfig;

const FILTERS: [string, typeof filterOciConfig][] = [["in this module", filterOciConfig], [
  "from its source alone",
  standaloneFilter,
]];

for (const [where, filter] of FILTERS) {
  Deno.test(`filterOciConfig() ${where}`, async (t) => {
    const applied: [string, ReturnType<typeof ociConfig>, { maskedPaths: unknown; readonlyPaths: unknown }][] = [
      [
        "sets both lists exactly to the annotations",
        ociConfig(ociPathsAnnotations(["/tmp", "/proc/sys"], ["/proc/version"])),
        { maskedPaths: ["/proc/version"], readonlyPaths: ["/tmp", "/proc/sys"] },
      ],
      [
        "empties the masked paths for an empty list",
        ociConfig(ociPathsAnnotations(["/tmp"], [])),
        { maskedPaths: [], readonlyPaths: ["/tmp"] },
      ],
      [
        "sets only the list whose annotation is there",
        ociConfig({ [READONLY_PATHS_ANNOTATION]: '["/etc"]' }),
        { maskedPaths: PODMAN_DEFAULTS.maskedPaths, readonlyPaths: ["/etc"] },
      ],
      [
        "adds linux when the config has none",
        ociConfig(ociPathsAnnotations(["/tmp"], ["/a"]), undefined),
        { maskedPaths: ["/a"], readonlyPaths: ["/tmp"] },
      ],
    ];
    for (const [what, input, expected] of applied) {
      await t.step(`filterOciConfig() ${what}`, () => {
        const before = structuredClone(input);
        const out = filter(input) as Record<string, unknown>;
        const linux = out["linux"] as Record<string, unknown>;
        assert.deepEqual(linux["maskedPaths"], expected.maskedPaths);
        assert.deepEqual(linux["readonlyPaths"], expected.readonlyPaths);
        // Everything else as it was, and the input left alone.
        assert.deepEqual({ ...out, linux: undefined }, { ...input, linux: undefined });
        assert.deepEqual(input, before);
      });
    }

    await t.step("filterOciConfig() keeps the other fields of linux", () => {
      const linux = { ...PODMAN_DEFAULTS, namespaces: [{ type: "pid" }], seccomp: { defaultAction: "SCMP_ACT_ERRNO" } };
      const out = filter(ociConfig(ociPathsAnnotations(["/tmp"], []), linux)) as { linux: Record<string, unknown> };
      assert.deepEqual(out.linux["namespaces"], [{ type: "pid" }]);
      assert.deepEqual(out.linux["seccomp"], { defaultAction: "SCMP_ACT_ERRNO" });
    });

    const untouched: [string, ReturnType<typeof ociConfig>][] = [
      ["no annotations", ociConfig(undefined)],
      ["none of ours", ociConfig({ "io.kubernetes.container.hash": "1a2b", "io.cri-podman.other": "[]" })],
    ];
    for (const [what, input] of untouched) {
      await t.step(`filterOciConfig() returns a config with ${what} as it is`, () => {
        const before = structuredClone(input);
        assert.deepEqual(filter(input), before);
      });
    }

    const refused: [string, unknown, RegExp][] = [
      ["a config that is not an object", [1, 2], /not a JSON object/],
      ["null", null, /not a JSON object/],
      ["an annotation that is not JSON", ociConfig({ [READONLY_PATHS_ANNOTATION]: "/tmp" }), /readonly-paths/],
      ["an annotation that is not an array", ociConfig({ [MASKED_PATHS_ANNOTATION]: '"/tmp"' }), /masked-paths/],
      ["an array with a number", ociConfig({ [READONLY_PATHS_ANNOTATION]: '["/tmp", 1]' }), /array of strings/],
    ];
    for (const [what, input, message] of refused) {
      await t.step(`filterOciConfig() throws (failing the start) for ${what}`, () => {
        assert.throws(() => filter(input), message);
      });
    }
  });
}

Deno.test("ociPathsAnnotations() carries both lists as JSON arrays under our two keys", () => {
  assert.deepEqual(ociPathsAnnotations(["/tmp"], []), {
    "io.cri-podman.readonly-paths": '["/tmp"]',
    "io.cri-podman.masked-paths": "[]",
  });
});

Deno.test("ociPathsHookFile() runs the command in the precreate stage for containers with our annotation", () => {
  const argv = ["/usr/bin/deno", "run", "--no-config", "data:text/javascript;base64,AA=="];
  const file = ociPathsHookFile(argv);
  assert.deepEqual(file, {
    version: "1.0.0",
    hook: {
      path: "/usr/bin/deno",
      args: argv,
      env: ["DENO_NO_UPDATE_CHECK=1", "NO_COLOR=1"],
      timeout: OCI_PATHS_HOOK_TIMEOUT_SECONDS,
    },
    when: { annotations: { "^io\\.cri-podman\\.readonly-paths$": ".*" } },
    stages: ["precreate"],
  });
  // Podman matches the key as a regular expression: ours only, not a longer or similar key.
  const [pattern] = Object.keys(file.when.annotations);
  const key = new RegExp(pattern!);
  assert.ok(key.test(READONLY_PATHS_ANNOTATION));
  assert.ok(!key.test(`${READONLY_PATHS_ANNOTATION}-x`));
  assert.ok(!key.test("io.cri-podmanXreadonly-paths"));
  assert.throws(() => ociPathsHookFile(["deno", "run"]), /absolute/);
});
