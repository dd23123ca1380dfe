/**
 * The I/O edge of configuration: reads the environment and the configuration file, then resolves. The only module
 * besides `mod.ts` that touches `Deno.env`.
 * @module
 */
import { ConfigError, resolveConfig } from "./load.ts";
import type { Config } from "./schema.ts";
import type { Cli } from "./cli.ts";
import { quote } from "./rules.ts";

/** Returns the user's runtime directory: `$XDG_RUNTIME_DIR`, else `/run/user/<uid>`. */
export function runtimeDir(): string {
  return Deno.env.get("XDG_RUNTIME_DIR") || `/run/user/${Deno.uid() ?? 0}`;
}

/** Loads the effective configuration for a parsed command line. */
export async function loadConfig(cli: Cli): Promise<Config> {
  const env = Deno.env.toObject();
  const explicit = cli.configPath ?? env["CRI_PODMAN_CONFIG"];
  const path = explicit ??
    `${env["XDG_CONFIG_HOME"] || `${env["HOME"] ?? "/nonexistent"}/.config`}/cri-podman/config.toml`;
  let file: { path: string; text: string } | undefined;
  try {
    file = { path, text: await Deno.readTextFile(path) };
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound) || explicit !== undefined) {
      throw new ConfigError(`Cannot read configuration file ${quote(path)}: ${(err as Error).message}`, { cause: err });
    }
  }
  return resolveConfig({ runtimeDir: runtimeDir(), env, flags: cli.flags, ...(file ? { file } : {}) });
}
