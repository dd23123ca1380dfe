/**
 * Custom read-only (and, with them, masked) paths through an OCI hook. Podman 4.3 can make only its default /proc
 * paths read-only, and has no API field for others; but it runs hooks of its own `precreate` stage, which get the
 * container's OCI config on stdin and print the config to use. The embedded Podman service is started with a hooks
 * directory of ours holding {@linkcode ociPathsHookFile}: for a container carrying {@linkcode READONLY_PATHS_ANNOTATION}
 * and {@linkcode MASKED_PATHS_ANNOTATION}, it runs {@linkcode filterOciConfig} (a program of its own: `deno run` of its
 * source, or a compiled cri-podman with {@linkcode OCI_PATHS_HOOK_COMMAND}), which sets `linux.readonlyPaths` and
 * `linux.maskedPaths` to exactly the CRI lists. Pure.
 * @module
 */

/** The annotation that carries a container's CRI readonly_paths, as a JSON array of strings. */
export const READONLY_PATHS_ANNOTATION = "io.cri-podman.readonly-paths";
/** The annotation that carries a container's CRI masked_paths, as a JSON array of strings. */
export const MASKED_PATHS_ANNOTATION = "io.cri-podman.masked-paths";

/** The hidden command of a compiled cri-podman that runs {@linkcode filterOciConfig} on stdin (see mod.ts). */
export const OCI_PATHS_HOOK_COMMAND = "__oci-hook-paths";

/** The file name of the hook in our hooks directory (Podman reads `*.json` files only). */
export const OCI_PATHS_HOOK_FILE = "cri-podman-paths.json";

/** How long Podman lets the hook run before it kills it and fails the container's start, in seconds. */
export const OCI_PATHS_HOOK_TIMEOUT_SECONDS = 30;

/** A Podman hook configuration file, version 1.0.0 (oci-hooks(5)). */
export interface OciHookFile {
  version: "1.0.0";
  hook: { path: string; args: string[]; env: string[]; timeout: number };
  when: { annotations: Record<string, string> };
  stages: string[];
}

/**
 * The hook file that runs `argv` (whose first element is the executable) in Podman's `precreate` stage for every
 * container carrying one of our two annotations. Podman gives hooks an empty environment unless the file names one.
 */
export function ociPathsHookFile(argv: readonly string[]): OciHookFile {
  if (!argv[0]?.startsWith("/")) throw new RangeError(`The hook's executable must be an absolute path: ${argv[0]}`);
  return {
    version: "1.0.0",
    hook: {
      path: argv[0],
      args: [...argv],
      env: ["DENO_NO_UPDATE_CHECK=1", "NO_COLOR=1"],
      timeout: OCI_PATHS_HOOK_TIMEOUT_SECONDS,
    },
    // Podman matches keys and values as unanchored regular expressions.
    when: { annotations: { [`^${escapeRegExp(READONLY_PATHS_ANNOTATION)}$`]: ".*" } },
    stages: ["precreate"],
  };
}

/**
 * The annotations that make the hook apply `readonlyPaths` and `maskedPaths`, exactly (an empty list stays empty: a
 * container with custom read-only paths and no masked paths gets none of Podman's default masks, as with containerd).
 */
export function ociPathsAnnotations(
  readonlyPaths: readonly string[],
  maskedPaths: readonly string[],
): Record<string, string> {
  return {
    [READONLY_PATHS_ANNOTATION]: JSON.stringify(readonlyPaths),
    [MASKED_PATHS_ANNOTATION]: JSON.stringify(maskedPaths),
  };
}

/**
 * The hook's program: an OCI config (config.json, parsed) with `linux.readonlyPaths` and `linux.maskedPaths` set to
 * the JSON arrays in its annotations {@linkcode READONLY_PATHS_ANNOTATION} and {@linkcode MASKED_PATHS_ANNOTATION}
 * (each only when present), everything else as it was. Throws (the hook then fails the container's start) on a
 * config that is not an object, or an annotation that is not a JSON array of strings. Does not change its argument.
 *
 * It must stay self-contained, with no import and no reference to anything else of this module: its source text
 * runs alone as the hook (see host/self_program.ts), so the annotation names are spelt out here again.
 */
export function filterOciConfig(config: unknown): unknown {
  const fields: [string, string][] = [
    ["io.cri-podman.readonly-paths", "readonlyPaths"],
    ["io.cri-podman.masked-paths", "maskedPaths"],
  ];
  const isObject = (value: unknown): value is Record<string, unknown> =>
    typeof value === "object" && value !== null && !Array.isArray(value);
  if (!isObject(config)) throw new TypeError("the OCI config is not a JSON object");
  const annotations = isObject(config["annotations"]) ? config["annotations"] : {};
  const linux: Record<string, unknown> = isObject(config["linux"]) ? { ...config["linux"] } : {};
  let changed = false;
  for (const [annotation, field] of fields) {
    const raw = annotations[annotation];
    if (raw === undefined) continue;
    let paths: unknown;
    try {
      paths = typeof raw === "string" ? JSON.parse(raw) : undefined;
    } catch {
      paths = undefined;
    }
    if (!Array.isArray(paths) || !paths.every((p) => typeof p === "string")) {
      throw new TypeError(`the annotation ${annotation} is not a JSON array of strings: ${JSON.stringify(raw)}`);
    }
    linux[field] = paths;
    changed = true;
  }
  return changed ? { ...config, linux } : config;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
