/**
 * Terminal sizes from a remote command's resize stream (SPDY) or channel 4 (WebSocket). The client writes each size as JSON with Go's `json.Encoder`
 * (client-go tools/remotecommand v3.go `handleResizes`: `{"Width":80,"Height":24}` and a newline), and kubelet reads
 * the channel as one JSON stream with `json.NewDecoder` (kubelet cri/streaming/remotecommand/httpstream.go
 * `handleResizeEvents`), so a value may span messages and a message may hold several. Like Go's decoder, keys match
 * case-insensitively, unknown keys are ignored, a missing one stays 0, and a value must fit an unsigned 16-bit field.
 * @module
 */
import type { TerminalSize } from "./session.ts";

/** The most text a size may take before it ends; a client sending more is not sending sizes. */
const MAX_PENDING_CHARS = 4096;

/**
 * Splits the resize byte stream into terminal sizes. Like kubelet's decoder loop it stops at the first malformed
 * value: the sizes before it are still returned, {@link TerminalSizeDecoder.failure} says what was wrong, and nothing
 * more is decoded.
 */
export class TerminalSizeDecoder {
  readonly #text = new TextDecoder("utf-8", { fatal: true });
  #pending = "";
  #failure: string | undefined;

  /** Why the stream stopped being read, once a malformed value came; undefined until then. */
  get failure(): string | undefined {
    return this.#failure;
  }

  /** Adds bytes and returns the sizes they complete. */
  push(bytes: Uint8Array): TerminalSize[] {
    const sizes: TerminalSize[] = [];
    if (this.#failure !== undefined) return sizes;
    try {
      this.#pending += this.#text.decode(bytes, { stream: true });
      for (;;) {
        const start = this.#pending.search(/\S/);
        if (start < 0) {
          this.#pending = "";
          break;
        }
        const end = endOfObject(this.#pending, start);
        if (end === undefined) {
          this.#pending = this.#pending.slice(start);
          if (this.#pending.length > MAX_PENDING_CHARS) {
            throw new Error(`a terminal size longer than ${MAX_PENDING_CHARS} characters`);
          }
          break;
        }
        sizes.push(toSize(this.#pending.slice(start, end)));
        this.#pending = this.#pending.slice(end);
      }
    } catch (err) {
      this.#failure = (err as Error).message;
      this.#pending = "";
    }
    return sizes;
  }
}

/** The index after the JSON object that starts at `start`, or undefined if it has not ended yet. */
function endOfObject(text: string, start: number): number | undefined {
  if (text[start] !== "{") throw new Error(`a terminal size must be a JSON object, got ${JSON.stringify(text[start])}`);
  let depth = 0;
  let inString = false;
  for (let i = start; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === "\\") i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === "{" || c === "[") depth++;
    else if ((c === "}" || c === "]") && --depth === 0) return i + 1;
  }
  return undefined;
}

/** The size one JSON object holds, decoded the way Go decodes into `struct{ Width, Height uint16 }`. */
function toSize(json: string): TerminalSize {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (err) {
    throw new Error(`a terminal size is not valid JSON: ${(err as Error).message}`);
  }
  const size: TerminalSize = { width: 0, height: 0 };
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
    const field = key.toLowerCase();
    if (field !== "width" && field !== "height") continue;
    if (v === null) continue; // Go leaves the field as it was
    if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > 0xffff) {
      throw new Error(`terminal ${field} must be an integer from 0 to 65535, got ${JSON.stringify(v)}`);
    }
    size[field] = v;
  }
  return size;
}
