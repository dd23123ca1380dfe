/**
 * The resize stream of a remote command: client-go writes each terminal size with `json.NewEncoder(…).Encode(&size)`
 * (tools/remotecommand/v3.go handleResizes), `{"Width":80,"Height":24}` and a newline, one object after another;
 * kubelet reads them with a `json.Decoder` and stops at the first that does not decode (httpstream.go
 * handleResizeEvents). This splits the byte stream into objects without assuming chunk boundaries.
 * @module
 */

import type { TerminalSize } from "../session.ts";

/** Largest object accepted; a longer one ends the stream, as a decode error ends kubelet's. */
const MAX_OBJECT = 4096;

/** Splits bytes into JSON objects and reads terminal sizes from them; stops at the first malformed object. */
export class ResizeParser {
  #text = "";
  #depth = 0;
  #inString = false;
  #escaped = false;
  #start = -1;
  #failed = false;
  readonly #decoder = new TextDecoder();

  /** Tells whether a malformed object ended the stream. */
  get failed(): boolean {
    return this.#failed;
  }

  /** Feeds bytes; returns the sizes they complete. */
  push(chunk: Uint8Array): TerminalSize[] {
    if (this.#failed) return [];
    const sizes: TerminalSize[] = [];
    const text = this.#decoder.decode(chunk, { stream: true });
    const base = this.#text.length;
    this.#text += text;
    for (let i = base; i < this.#text.length; i++) {
      const c = this.#text[i]!;
      if (this.#depth === 0) {
        if (c === "{") {
          this.#depth = 1;
          this.#start = i;
        } else if (!/\s/.test(c)) return this.#fail(sizes);
        continue;
      }
      if (this.#inString) {
        if (this.#escaped) this.#escaped = false;
        else if (c === "\\") this.#escaped = true;
        else if (c === '"') this.#inString = false;
        continue;
      }
      if (c === '"') this.#inString = true;
      else if (c === "{" || c === "[") this.#depth++;
      else if (c === "}" || c === "]") {
        this.#depth--;
        if (this.#depth === 0) {
          const size = parseSize(this.#text.slice(this.#start, i + 1));
          if (!size) return this.#fail(sizes);
          sizes.push(size);
          this.#start = -1;
        }
      }
    }
    // Keep only the object in progress.
    if (this.#depth === 0) this.#text = "";
    else {
      this.#text = this.#text.slice(this.#start);
      this.#start = 0;
      if (this.#text.length > MAX_OBJECT) return this.#fail(sizes);
    }
    return sizes;
  }

  #fail(sizes: TerminalSize[]): TerminalSize[] {
    this.#failed = true;
    this.#text = "";
    return sizes;
  }
}

// Go's json.Decoder into remotecommand.TerminalSize{Width, Height uint16}: field names match case-insensitively,
// other fields are ignored, a value that is not a uint16 is an error.
function parseSize(json: string): TerminalSize | undefined {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    return undefined;
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return undefined;
  const size = { width: 0, height: 0 };
  for (const [key, field] of Object.entries(value)) {
    const name = key.toLowerCase();
    if (name !== "width" && name !== "height") continue;
    if (typeof field !== "number" || !Number.isInteger(field) || field < 0 || field > 0xffff) return undefined;
    size[name] = field;
  }
  return size;
}
