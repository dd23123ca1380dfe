/**
 * Functions of ours that run as programs of their own (the port-forward helper, the OCI hook of custom paths), in
 * every way cri-podman itself runs:
 * - `deno run mod.ts` or `deno run bundle.js`: `deno run` of the function's source as a data: URL, needing no
 *   deno.json, node_modules or file of ours, and no permission beyond the flags the caller names (`deno eval` would
 *   grant everything);
 * - a `deno compile` binary, which has no `deno` to run: the binary itself with a hidden command, which mod.ts
 *   dispatches to the same function.
 *
 * Such a function must stay self-contained, using nothing but `Deno.*` and globals: its source text runs alone, where
 * no import and nothing else of its module exists.
 * @module
 */
import { Buffer } from "node:buffer";

/** How this process runs: compiled (`deno compile`) or under `deno run`, and the executable's path. */
export interface RuntimeMode {
  standalone: boolean;
  execPath: string;
}

/** A function of ours run as a program. */
export interface SelfProgram {
  /** The hidden command of a compiled cri-podman that runs it (mod.ts dispatches it). */
  command: string;
  /** The program as a `data:` module (see {@linkcode dataModuleUrl}); called only when not compiled. */
  moduleUrl: () => string;
  /** `deno run` permission flags (e.g. `--allow-read=PATH`); none: the program gets no permission at all. */
  permissions?: readonly string[];
}

/** The mode of this process. */
export function currentRuntime(): RuntimeMode {
  return { standalone: Deno.build.standalone, execPath: Deno.execPath() };
}

/** The command line that runs `program` with `args` in this run mode (see the module's documentation). */
export function selfProgramArgv(
  program: SelfProgram,
  args: readonly string[],
  mode: RuntimeMode = currentRuntime(),
): string[] {
  if (mode.standalone) return [mode.execPath, program.command, ...args];
  return [
    mode.execPath,
    "run",
    "--no-config",
    "--no-lock",
    "--no-prompt",
    "--quiet",
    ...(program.permissions ?? []),
    program.moduleUrl(),
    ...args,
  ];
}

/** A JavaScript module's source as a `data:` URL. */
export function dataModuleUrl(source: string): string {
  return `data:text/javascript;base64,${Buffer.from(source).toString("base64")}`;
}

/**
 * The source of a module that runs `main(Deno.args)` and exits with the status it resolves to (1, with the error on
 * stderr, when it rejects). `main` must be self-contained.
 */
export function mainModuleSource(main: (args: readonly string[]) => Promise<number>): string {
  return callModuleSource(main, "Deno.args");
}

/** The source of a module that runs {@linkcode runJsonFilter} with `filter` (self-contained, as it must be). */
export function jsonFilterModuleSource(filter: (value: unknown) => unknown): string {
  return callModuleSource(runJsonFilter, `(${filter.toString()})`);
}

/** A module that calls `fn(argument)` and exits with the status it resolves to (1, with the error, on a rejection). */
function callModuleSource(fn: (arg: never) => Promise<number>, argument: string): string {
  return `(${fn.toString()})(${argument}).then((code) => Deno.exit(code), (err) => {\n` +
    `  console.error(err);\n  Deno.exit(1);\n});\n`;
}

/** A {@linkcode SelfProgram} that filters JSON from stdin to stdout with `filter`, with no permission. */
export function jsonFilterProgram(command: string, filter: (value: unknown) => unknown): SelfProgram {
  let url: string | undefined;
  return { command, moduleUrl: () => url ??= dataModuleUrl(jsonFilterModuleSource(filter)) };
}

/**
 * Reads one JSON document from stdin, passes it through `filter` and writes the result as JSON on stdout; resolves
 * to 0, or to 1 with the reason on stderr (unreadable input, a filter that throws). Needs no permission.
 *
 * It must stay self-contained: its source text also runs alone (see {@linkcode jsonFilterModuleSource}).
 */
export async function runJsonFilter(filter: (value: unknown) => unknown): Promise<number> {
  let output: string;
  try {
    const input = await new Response(Deno.stdin.readable).text();
    output = JSON.stringify(filter(JSON.parse(input)));
  } catch (err) {
    console.error(`cri-podman: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  }
  const bytes = new TextEncoder().encode(output);
  for (let offset = 0; offset < bytes.length;) offset += await Deno.stdout.write(bytes.subarray(offset));
  return 0;
}
