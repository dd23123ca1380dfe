/**
 * A small leveled logger writing one line per event to stderr, as text or JSON. Field values under secret-looking
 * keys (password, auth, token, …) are replaced before anything is written, so credentials never reach a log.
 * @module
 */

/** Log severity, lowest first. */
export type LogLevel = "debug" | "info" | "warn" | "error";

/** Structured fields attached to a log line. */
export type LogFields = Record<string, unknown>;

/** The logging port every module receives. */
export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /** Returns a logger that adds `fields` to every line. */
  with(fields: LogFields): Logger;
  /** True when lines of `level` are written: lets a hot path skip building fields nobody reads. */
  enabled(level: LogLevel): boolean;
}

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };
const SECRET_KEY = /pass(word)?|secret|token|^auth$|registry-auth|authorization|^credentials?$/i;

/** Replaces values under secret-looking keys, at any depth, with "[redacted]". */
export function redact(value: unknown, depth = 0): unknown {
  if (value === null || typeof value !== "object") return value;
  if (depth > 6) return "[truncated]"; // deeper values could hide secrets from the key check
  if (value instanceof Error) return { name: value.name, message: value.message };
  if (value instanceof Uint8Array) return value;
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] = SECRET_KEY.test(k) && v !== "" && v !== undefined ? "[redacted]" : redact(v, depth + 1);
  }
  return out;
}

/** Creates a logger at `level` that hands each formatted line to `write` (stderr by default). */
export function createLogger(
  opts: { level: LogLevel; format: "text" | "json"; write?: (line: string) => void },
  base: LogFields = {},
): Logger {
  const write = opts.write ?? ((line: string) => console.error(line));
  const emit = (level: LogLevel, msg: string, fields?: LogFields) => {
    if (RANK[level] < RANK[opts.level]) return;
    const all = redact({ ...base, ...fields }) as LogFields;
    const time = new Date().toISOString();
    if (opts.format === "json") {
      write(safeJson({ time, level, msg, ...all }));
    } else {
      const kv = Object.entries(all).map(([k, v]) => `${k}=${typeof v === "string" ? JSON.stringify(v) : safeJson(v)}`);
      write([time, level.toUpperCase().padEnd(5), msg, ...kv].join(" "));
    }
  };
  return {
    debug: (m, f) => emit("debug", m, f),
    info: (m, f) => emit("info", m, f),
    warn: (m, f) => emit("warn", m, f),
    error: (m, f) => emit("error", m, f),
    with: (fields) => createLogger(opts, { ...base, ...fields }),
    enabled: (level) => RANK[level] >= RANK[opts.level],
  };
}

function safeJson(v: unknown): string {
  try {
    return JSON.stringify(v, jsonReplacer) ?? String(v);
  } catch {
    return String(v);
  }
}

function jsonReplacer(_key: string, value: unknown): unknown {
  if (typeof value === "bigint") return value.toString();
  if (value instanceof Uint8Array) return `<${value.byteLength} bytes>`;
  return value;
}

/** A logger that drops everything, for tests. */
export const silentLogger: Logger = createLogger({ level: "error", format: "text", write: () => {} });
