/**
 * Builds the effective configuration from defaults, a TOML file, the environment and flags (later layers win),
 * validates it once, and freezes it. Pure: the caller reads files and the environment (see `readConfigSources`).
 * @module
 */
import * as v from "valibot";
import { parse as parseToml, stringify as stringifyToml } from "smol-toml";
import { type Config, CONFIG_KEYS, type ConfigLayer, ConfigSchema, defaultConfig } from "./schema.ts";
import { StartupError } from "../errors.ts";
import { quote } from "./rules.ts";

/** A configuration that cannot be used: the message names the key and says what is wrong. */
export class ConfigError extends StartupError {
  /** Creates a configuration error. */
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "ConfigError";
  }
}

/** Everything the configuration is built from. */
export interface ConfigSources {
  /** The user's runtime directory (`$XDG_RUNTIME_DIR`), base of the default socket paths. */
  runtimeDir: string;
  /** The configuration file's text and where it came from, when there is one. */
  file?: { path: string; text: string };
  /** The process environment (only `CRI_PODMAN_*` variables are read). */
  env: Readonly<Record<string, string | undefined>>;
  /** Values from command-line flags, keyed by configuration key (`podman.socket`). */
  flags?: Readonly<Record<string, string | number | boolean>>;
}

/** Builds, validates and freezes the configuration; throws {@link ConfigError} naming the offending key. */
export function resolveConfig(sources: ConfigSources): Config {
  const defaults = defaultConfig(sources.runtimeDir);
  let merged: Record<string, unknown> = structuredClone(defaults) as unknown as Record<string, unknown>;
  if (sources.file) merged = mergeLayer(merged, parseFileLayer(sources.file.path, sources.file.text));
  merged = mergeLayer(merged, envLayer(sources.env, defaults));
  if (sources.flags) merged = mergeLayer(merged, flagLayer(sources.flags));
  const result = v.safeParse(ConfigSchema, merged);
  if (!result.success) {
    const issue = result.issues[0];
    const key = issue.path?.map((p) => String(p.key)).join(".") ?? "(root)";
    const message = issue.kind === "schema" && issue.type === "strict_object" && issue.expected === "never"
      ? "unknown key"
      : issue.message;
    const origin = sources.file ? ` (file ${quote(sources.file.path)}, environment and flags)` : "";
    throw new ConfigError(`Invalid configuration key ${quote(key)}: ${message}${origin}`);
  }
  return deepFreeze(result.output);
}

/** Renders a configuration as TOML, the format of the configuration file. */
export function configToToml(config: Config): string {
  return stringifyToml(config as unknown as Record<string, unknown>);
}

function parseFileLayer(path: string, text: string): ConfigLayer {
  try {
    return parseToml(text) as ConfigLayer;
  } catch (err) {
    // smol-toml's message adds a multi-line excerpt with a caret; a start-up error is one line, so keep the first
    // line and say where instead.
    const { line, column } = err as { line?: unknown; column?: unknown };
    const where = typeof line === "number" && typeof column === "number" ? ` (line ${line}, column ${column})` : "";
    const what = ((err as Error).message.split("\n")[0] ?? "").replace(/^Invalid TOML document: /, "");
    throw new ConfigError(`Cannot parse configuration file ${quote(path)}${where}: ${what}`, { cause: err });
  }
}

function envLayer(env: ConfigSources["env"], defaults: Config): Record<string, unknown> {
  const layer: Record<string, unknown> = {};
  for (const doc of CONFIG_KEYS) {
    const raw = env[doc.env];
    if (raw === undefined || raw === "") continue;
    setKey(layer, doc.key, coerce(doc.env, raw, getKey(defaults, doc.key)));
  }
  return layer;
}

function flagLayer(flags: NonNullable<ConfigSources["flags"]>): Record<string, unknown> {
  const layer: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(flags)) setKey(layer, key, value);
  return layer;
}

/** Converts an environment string to the type of the key's default. */
function coerce(name: string, raw: string, like: unknown): unknown {
  if (Array.isArray(like)) return raw.split(",").map((item) => item.trim()).filter((item) => item !== "");
  if (like !== null && typeof like === "object") {
    // A table: "key=value,key=value".
    const table: Record<string, string> = {};
    for (const pair of raw.split(",").map((p) => p.trim()).filter((p) => p !== "")) {
      const eq = pair.indexOf("=");
      if (eq <= 0) {
        throw new ConfigError(`Invalid environment variable ${name}=${quote(raw)}: expected name=value pairs`);
      }
      table[pair.slice(0, eq).trim()] = pair.slice(eq + 1).trim();
    }
    return table;
  }
  if (typeof like === "number") {
    const n = raw.trim() === "" ? Number.NaN : Number(raw);
    if (!Number.isFinite(n)) throw new ConfigError(`Invalid environment variable ${name}=${quote(raw)}: not a number`);
    return n;
  }
  if (typeof like === "boolean") {
    if (/^(1|true|yes|on)$/i.test(raw)) return true;
    if (/^(0|false|no|off)$/i.test(raw)) return false;
    throw new ConfigError(`Invalid environment variable ${name}=${quote(raw)}: not a boolean`);
  }
  return raw;
}

function getKey(obj: unknown, dotted: string): unknown {
  return dotted.split(".").reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], obj);
}

function setKey(obj: Record<string, unknown>, dotted: string, value: unknown): void {
  const parts = dotted.split(".");
  let cur = obj;
  for (const part of parts.slice(0, -1)) {
    cur = (cur[part] ??= {}) as Record<string, unknown>;
  }
  cur[parts[parts.length - 1]!] = value;
}

function mergeLayer(base: Record<string, unknown>, layer: object): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(layer)) {
    const current = out[key];
    out[key] = isPlainObject(current) && isPlainObject(value) ? mergeLayer(current, value) : value;
  }
  return out;
}

function isPlainObject(x: unknown): x is Record<string, unknown> {
  return typeof x === "object" && x !== null && !Array.isArray(x) && !(x instanceof Date);
}

/** Freezes `obj` and every object and array under it (arrays too: `images.insecure_registries` is one). */
function deepFreeze<T>(obj: T): T {
  if (isPlainObject(obj) || Array.isArray(obj)) {
    for (const value of Object.values(obj)) deepFreeze(value);
    Object.freeze(obj);
  }
  return obj;
}
