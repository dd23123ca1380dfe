/**
 * The command line of cri-podman: its commands and flags, each in one table that the parser, the help, the short
 * usage and the "did you mean" suggestions all read. Pure parsing; `mod.ts` acts on it.
 * @module
 */
import { ConfigError } from "./load.ts";
import { quote } from "./rules.ts";
import { CONFIG_KEYS } from "./schema.ts";
import { closestName } from "./suggest.ts";

/** One command: its name and what it does, in one line. */
export interface CommandDoc {
  name: string;
  summary: string;
}

/** Every command, in the order help lists them; a new command is one more row here and a case in `mod.ts`. */
export const COMMANDS = [
  { name: "serve", summary: "Serve the CRI on a unix socket (stops on SIGINT/SIGTERM)" },
  { name: "version", summary: "Print the version and the CRI API version (also --version, -v)" },
  { name: "config", summary: "Print the effective configuration as TOML" },
  {
    name: "doctor",
    summary: "Check each prerequisite of running pods and say how to fix it (exit 1: pods cannot run)",
  },
  {
    name: "node",
    summary: "Run a command inside the node, e.g. kubelet, crictl or critest: node -- COMMAND ARGS (none: a shell)",
  },
  { name: "help", summary: "Print every flag and configuration key (also --help, -h)" },
] as const satisfies readonly CommandDoc[];

/** The name of a command. */
export type CommandName = (typeof COMMANDS)[number]["name"];

/** One flag: `--long`, maybe `-s`, and either a value (its placeholder) or none. */
export interface FlagDoc {
  long: string;
  short?: string;
  /** Placeholder of the value in help (`PATH`); absent for a flag without a value. */
  value?: string;
  /** What the flag does, for help; flags of configuration keys are described with their key instead. */
  summary?: string;
  /** The configuration key the flag sets, and for a flag without a value, what it sets it to. */
  key?: string;
  sets?: boolean;
  /** The commands a command's own flag (no `key`) belongs to; given to any other command it is an error. */
  commands?: readonly CommandName[];
}

/** Every flag the parser accepts. Those with a `key` must match the `flag` column of CONFIG_KEYS (a test checks). */
export const FLAGS: readonly FlagDoc[] = [
  {
    long: "config",
    short: "c",
    value: "PATH",
    summary: "Configuration file (TOML; default $XDG_CONFIG_HOME/cri-podman/config.toml; env CRI_PODMAN_CONFIG)",
  },
  { long: "help", short: "h", summary: "Print this help" },
  { long: "version", short: "v", summary: "Print the version" },
  { long: "listen", value: "PATH", key: "listen" },
  { long: "podman-socket", value: "PATH", key: "podman.socket" },
  { long: "node", key: "node", sets: true },
  { long: "embedded-podman", key: "podman.embedded_service", sets: true },
  { long: "no-embedded-podman", key: "podman.embedded_service", sets: false },
  { long: "log-level", value: "LEVEL", key: "log.level" },
  { long: "json", summary: "Print the checks of doctor as a JSON array (doctor only)", commands: ["doctor"] },
];

/** What the command line asks for. */
export interface Cli {
  /** The command; null when none was given (a bare `cri-podman`), which gets the short usage. */
  command: CommandName | null;
  /** `--config PATH`, when given. */
  configPath?: string;
  /** Flag values keyed by configuration key. */
  flags: Record<string, string | boolean>;
  /** Values of command flags (those with `commands`), keyed by their long name; absent when none was given. */
  options?: Record<string, string | boolean>;
  /** `node`'s command: what follows `--` (absent without `--`; only `node` takes one). */
  argv?: string[];
}

const SEE_HELP = "see cri-podman --help";

/** Parses `args` (without the program name); throws a one-line {@link ConfigError} on a bad flag or command. */
export function parseCli(args: readonly string[]): Cli {
  const positionals: string[] = [];
  const flags: Record<string, string | boolean> = {};
  const options: Record<string, string | boolean> = {};
  const commandFlags: FlagDoc[] = [];
  let configPath: string | undefined;
  let argv: string[] | undefined;
  let help = false;
  let version = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "--") {
      argv = args.slice(i + 1);
      break;
    }
    if (!arg.startsWith("-") || arg === "-") {
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf("=");
    const written = eq >= 0 ? arg.slice(0, eq) : arg;
    const flag = findFlag(written);
    let value: string | undefined;
    if (flag.value !== undefined) {
      if (eq >= 0) value = arg.slice(eq + 1);
      else {
        const next = args[i + 1];
        if (next === undefined) {
          throw new ConfigError(`Flag ${written} needs a value (${written} ${flag.value}); ${SEE_HELP}`);
        }
        // A value that starts with "-" is more likely the next flag than a value: say so rather than take it.
        if (next.startsWith("-") && next !== "-") {
          throw new ConfigError(
            `Flag ${written} needs a value, not the flag ${quote(next)} (a value starting with "-" is written ` +
              `${written}=${flag.value}); ${SEE_HELP}`,
          );
        }
        value = next;
        i++;
      }
    } else if (eq >= 0) {
      throw new ConfigError(`Flag ${written} takes no value (got ${quote(arg)}); ${SEE_HELP}`);
    }
    if (flag.long === "help") help = true;
    else if (flag.long === "version") version = true;
    else if (flag.long === "config") configPath = value!;
    else if (flag.key !== undefined) flags[flag.key] = value ?? flag.sets ?? true;
    else if (flag.commands !== undefined) {
      options[flag.long] = value ?? true;
      commandFlags.push(flag);
    }
  }
  const word = positionals[0];
  const names: readonly string[] = COMMANDS.map((c) => c.name);
  if (word !== undefined && !names.includes(word)) {
    const suggestion = closestName(word, names);
    throw new ConfigError(
      `Unknown command ${quote(word)} (${
        suggestion ? `did you mean ${suggestion}?` : `expected one of ${names.join(", ")}`
      }); ${SEE_HELP}`,
    );
  }
  if (positionals.length > 1) throw new ConfigError(`Unexpected argument ${quote(positionals[1]!)}; ${SEE_HELP}`);
  // --help beats --version beats the command word, so `cri-podman serve --help` helps.
  const command = help ? "help" : version ? "version" : (word as CommandName | undefined) ?? null;
  // help describes every flag, so a command flag beside --help is no error.
  if (command !== "help") {
    for (const flag of commandFlags) {
      if (command !== null && flag.commands!.includes(command)) continue;
      const usage = flag.commands!.map((c) => `cri-podman ${c} --${flag.long}`).join(" or ");
      const given = command === null ? "" : `, not for ${command}`;
      throw new ConfigError(`Flag --${flag.long} is only for ${usage}${given}; ${SEE_HELP}`);
    }
  }
  if (argv !== undefined && command !== "node" && command !== "help") {
    throw new ConfigError(
      `Only cri-podman node takes a command after "--"${argv[0] ? ` (got ${quote(argv[0])})` : ""}; ${SEE_HELP}`,
    );
  }
  const cli: Cli = { command, flags };
  if (argv !== undefined) cli.argv = argv;
  if (configPath !== undefined) cli.configPath = configPath;
  if (Object.keys(options).length > 0) cli.options = options;
  return cli;
}

/** The flag `written` (`--listen`, `-c`) names, or a ConfigError that suggests the closest one. */
function findFlag(written: string): FlagDoc {
  const found = written.startsWith("--")
    ? FLAGS.find((f) => `--${f.long}` === written)
    : FLAGS.find((f) => f.short !== undefined && `-${f.short}` === written);
  if (found) return found;
  // Suggest by the name without dashes, so that "--" does not make every flag look close.
  const suggestion = closestName(written.replace(/^-+/, ""), FLAGS.map((f) => f.long));
  throw new ConfigError(
    `Unknown flag ${quote(written)}${suggestion ? ` (did you mean --${suggestion}?)` : ""}; ${SEE_HELP}`,
  );
}

function commandRows(): string[] {
  return COMMANDS.map((c) => `  ${c.name.padEnd(10)} ${c.summary}`);
}

/** The short usage a bare `cri-podman` prints: the commands, and where the rest is. */
export function usageText(): string {
  return [
    "Usage: cri-podman <command> [flags]",
    "",
    "Commands:",
    ...commandRows(),
    "",
    `For every flag and configuration key, ${SEE_HELP}.`,
  ].join("\n");
}

/** The `--help` text, listing every command, flag and configuration key with its environment variable and flag. */
export function helpText(defaults: Record<string, unknown>): string {
  const rows = CONFIG_KEYS.map((k) => {
    const def = k.key.split(".").reduce<unknown>((o, p) => (o as Record<string, unknown>)?.[p], defaults);
    return `  ${k.key.padEnd(32)}${(k.flag ?? "").padEnd(24)}${k.env}\n      ${k.description} (default: ${
      JSON.stringify(def)
    })`;
  });
  const flagRows = FLAGS.filter((f) => f.summary !== undefined).map((f) => {
    const names = `${f.short ? `-${f.short}, ` : "    "}--${f.long}${f.value ? ` ${f.value}` : ""}`;
    return `  ${names.padEnd(20)}${f.summary}`;
  });
  return [
    "cri-podman: a Kubernetes CRI v1 runtime on rootless Podman",
    "",
    "Usage: cri-podman <command> [flags]",
    "",
    "Commands:",
    ...commandRows(),
    "",
    "Flags:",
    ...flagRows,
    "",
    "Configuration keys (file key, flag, environment variable; flags beat environment beat file):",
    ...rows,
    "",
    "Every value is checked before anything starts; an unknown CRI_PODMAN_* environment variable is warned about.",
    "",
  ].join("\n");
}
