/**
 * The command line of cri-podman: `serve`, `version`, `config`, `--help`. Pure parsing; `mod.ts` acts on it.
 * @module
 */
import { parseArgs } from "node:util";
import { ConfigError } from "./load.ts";
import { CONFIG_KEYS } from "./schema.ts";

/** What the command line asks for. */
export interface Cli {
  command: "serve" | "version" | "config" | "help";
  /** `--config PATH`, when given. */
  configPath?: string;
  /** Flag values keyed by configuration key. */
  flags: Record<string, string | boolean>;
}

const COMMANDS = ["serve", "version", "config", "help"] as const;

/** Parses `args` (without the program name); throws {@link ConfigError} on an unknown flag or command. */
export function parseCli(args: readonly string[]): Cli {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...args],
      allowPositionals: true,
      strict: true,
      options: {
        help: { type: "boolean", short: "h" },
        config: { type: "string", short: "c" },
        listen: { type: "string" },
        "podman-socket": { type: "string" },
        "embedded-podman": { type: "boolean" },
        "no-embedded-podman": { type: "boolean" },
        "log-level": { type: "string" },
      },
    });
  } catch (err) {
    throw new ConfigError(`${(err as Error).message}; see --help`, { cause: err });
  }
  const { values, positionals } = parsed;
  if (positionals.length > 1) throw new ConfigError(`Unexpected argument "${positionals[1]}"; see --help`);
  const word = positionals[0] ?? "help";
  if (!(COMMANDS as readonly string[]).includes(word)) {
    throw new ConfigError(`Unknown command "${word}": expected one of ${COMMANDS.join(", ")}`);
  }
  const flags: Record<string, string | boolean> = {};
  if (values.listen !== undefined) flags["listen"] = values.listen;
  if (values["podman-socket"] !== undefined) flags["podman.socket"] = values["podman-socket"];
  if (values["embedded-podman"]) flags["podman.embedded_service"] = true;
  if (values["no-embedded-podman"]) flags["podman.embedded_service"] = false;
  if (values["log-level"] !== undefined) flags["log.level"] = values["log-level"];
  const cli: Cli = { command: values.help ? "help" : word as Cli["command"], flags };
  if (values.config !== undefined) cli.configPath = values.config;
  return cli;
}

/** The `--help` text, listing every configuration key with its environment variable and flag. */
export function helpText(defaults: Record<string, unknown>): string {
  const rows = CONFIG_KEYS.map((k) => {
    const def = k.key.split(".").reduce<unknown>((o, p) => (o as Record<string, unknown>)?.[p], defaults);
    return `  ${k.key.padEnd(32)}${(k.flag ?? "").padEnd(24)}${k.env}\n      ${k.description} (default: ${
      JSON.stringify(def)
    })`;
  });
  return [
    "cri-podman: a Kubernetes CRI v1 runtime on rootless Podman",
    "",
    "Usage: cri-podman <command> [flags]",
    "",
    "Commands:",
    "  serve      Serve the CRI on a unix socket (stops on SIGINT/SIGTERM)",
    "  version    Print the version and the CRI API version",
    "  config     Print the effective configuration as TOML",
    "  help       Print this help",
    "",
    "Flags:",
    "  -c, --config PATH   Configuration file (TOML; default $XDG_CONFIG_HOME/cri-podman/config.toml if present;",
    "                      env CRI_PODMAN_CONFIG)",
    "  -h, --help          Print this help",
    "",
    "Configuration keys (file key, flag, environment variable; flags beat environment beat file):",
    ...rows,
    "",
  ].join("\n");
}
