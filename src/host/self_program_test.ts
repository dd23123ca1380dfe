/**
 * Programs of ours run from their own source: the command line in each run mode, that a module's source stands alone,
 * and the JSON filter run for real (`deno run` of its data: URL with an empty environment and no permission, as
 * Podman runs a hook; and mod.ts's hidden command, as a compiled binary runs it).
 */
import assert from "node:assert/strict";
import {
  dataModuleUrl,
  jsonFilterModuleSource,
  jsonFilterProgram,
  mainModuleSource,
  selfProgramArgv,
} from "./self_program.ts";

const MOD_TS = new URL("../../mod.ts", import.meta.url).pathname;
const DENO_JSON = new URL("../../deno.json", import.meta.url).pathname;

/** A filter that only the source of this test file could know. */
function tagFilter(value: unknown): unknown {
  return { tagged: true, value };
}

const PROGRAM = { command: "__test-program", moduleUrl: () => "data:text/javascript;base64,AA==" };

Deno.test("selfProgramArgv: deno run of the data: URL with only the named permissions, when not compiled", () => {
  const mode = { standalone: false, execPath: "/usr/bin/deno" };
  assert.deepEqual(selfProgramArgv(PROGRAM, ["a", "b"], mode), [
    "/usr/bin/deno",
    "run",
    "--no-config",
    "--no-lock",
    "--no-prompt",
    "--quiet",
    "data:text/javascript;base64,AA==",
    "a",
    "b",
  ]);
  const allowed = selfProgramArgv({ ...PROGRAM, permissions: ["--allow-read=/x"] }, [], mode);
  assert.deepEqual(allowed.slice(-2), ["--allow-read=/x", "data:text/javascript;base64,AA=="]);
});

Deno.test("selfProgramArgv: a compiled binary runs itself with the hidden command", () => {
  const mode = { standalone: true, execPath: "/usr/local/bin/cri-podman" };
  assert.deepEqual(selfProgramArgv(PROGRAM, ["a"], mode), ["/usr/local/bin/cri-podman", "__test-program", "a"]);
});

Deno.test("dataModuleUrl encodes the source as base64", () => {
  const url = dataModuleUrl("console.log('é');");
  assert.match(url, /^data:text\/javascript;base64,/);
  assert.equal(new TextDecoder().decode(decodeBase64(url.slice(url.indexOf(",") + 1))), "console.log('é');");
});

Deno.test("module sources hold the functions alone, call them, exit with their status, and parse", () => {
  const main = mainModuleSource(async (args) => (await Promise.resolve(args.length)));
  assert.match(main, /\(Deno\.args\)\.then\(\(code\) => Deno\.exit\(code\)/);
  const filter = jsonFilterModuleSource(tagFilter);
  assert.ok(filter.includes("tagged: true"), "the filter's source");
  assert.ok(filter.includes("Deno.stdin"), "the runner's source");
  for (const source of [main, filter]) {
    assert.ok(!source.includes("import "), "no import");
    assert.ok(!source.includes("Buffer"), "nothing else of the module");
    // A syntax check without running it (the modules have no top-level await).
    assert.doesNotThrow(() => new Function(source));
  }
});

/** Runs `argv` with `input` on stdin and an empty environment, as Podman runs a hook. */
async function runWithInput(argv: readonly string[], input: string) {
  const child = new Deno.Command(argv[0]!, {
    args: argv.slice(1),
    clearEnv: true,
    env: { DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1" },
    cwd: "/",
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(input));
  await writer.close();
  const out = await child.output();
  return { code: out.code, stdout: new TextDecoder().decode(out.stdout), stderr: new TextDecoder().decode(out.stderr) };
}

Deno.test("a JSON filter program runs under deno run with an empty environment and no permission", async () => {
  const argv = selfProgramArgv(jsonFilterProgram("__test-filter", tagFilter), []);
  const ok = await runWithInput(argv, '{"a":[1,"x"]}');
  assert.equal(ok.stderr, "");
  assert.equal(ok.code, 0);
  assert.deepEqual(JSON.parse(ok.stdout), { tagged: true, value: { a: [1, "x"] } });
  const bad = await runWithInput(argv, "{not json");
  assert.equal(bad.code, 1);
  assert.equal(bad.stdout, "");
  assert.match(bad.stderr, /^cri-podman: .*JSON/);
});

Deno.test("mod.ts runs the OCI paths hook with its hidden command, as a compiled binary does", async () => {
  // A compiled cri-podman runs with every permission, and so does mod.ts here.
  const argv = [Deno.execPath(), "run", "--allow-all", "--quiet", "--config", DENO_JSON, MOD_TS, "__oci-hook-paths"];
  const config = {
    annotations: { "io.cri-podman.readonly-paths": '["/tmp"]', "io.cri-podman.masked-paths": "[]" },
    linux: { readonlyPaths: ["/proc/sys"], maskedPaths: ["/proc/kcore"] },
  };
  const out = await runWithInput(argv, JSON.stringify(config));
  assert.equal(out.code, 0, out.stderr);
  assert.deepEqual(JSON.parse(out.stdout).linux, { readonlyPaths: ["/tmp"], maskedPaths: [] });
});

function decodeBase64(text: string): Uint8Array {
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}
