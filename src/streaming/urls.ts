/**
 * The streaming requests the CRI's Exec, Attach and PortForward hand over, and the single-use tokens that name them in
 * the URLs kubelet (or crictl) then opens: unguessable (32 random bytes), usable once, expiring after a configurable
 * time. A reused, expired or unknown token finds nothing, and nothing runs.
 * @module
 */
import { Buffer } from "node:buffer";

/** What a streaming URL stands for. */
export type StreamRequest =
  | {
    kind: "exec";
    containerId: string;
    cmd: string[];
    tty: boolean;
    stdin: boolean;
    stdout: boolean;
    stderr: boolean;
  }
  | {
    kind: "attach";
    containerId: string;
    /** The container's `stdin_once`: the client's end of stdin closes the container's stdin only then. */
    stdinOnce: boolean;
    tty: boolean;
    stdin: boolean;
    stdout: boolean;
    stderr: boolean;
  }
  | { kind: "portforward"; sandboxId: string; infraPid: number; ports: number[] };

/** What cri/ needs from the streaming server: a URL for a request. */
export interface StreamingUrls {
  /** Registers `request` under a fresh single-use token and returns the URL that serves it. */
  url(request: StreamRequest): string;
}

/** Single-use tokens with a time to live. */
export class TokenStore {
  readonly #ttlMs: number;
  readonly #now: () => number;
  readonly #tokens = new Map<string, { request: StreamRequest; expires: number }>();

  /** Tokens live `ttlMs`; `now` is the clock (tests pass their own). */
  constructor(ttlMs: number, now: () => number = Date.now) {
    this.#ttlMs = ttlMs;
    this.#now = now;
  }

  /** Stores `request` and returns its token. */
  issue(request: StreamRequest): string {
    this.#sweep();
    const token = Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64url");
    this.#tokens.set(token, { request, expires: this.#now() + this.#ttlMs });
    return token;
  }

  /** The request of `token` if it is known, unexpired and of `kind`; the token is spent either way. */
  take<K extends StreamRequest["kind"]>(token: string, kind: K): Extract<StreamRequest, { kind: K }> | undefined {
    const entry = this.#tokens.get(token);
    this.#tokens.delete(token);
    if (!entry || entry.expires <= this.#now() || entry.request.kind !== kind) return undefined;
    return entry.request as Extract<StreamRequest, { kind: K }>;
  }

  /** How many tokens wait to be used. */
  get size(): number {
    this.#sweep();
    return this.#tokens.size;
  }

  #sweep(): void {
    const now = this.#now();
    for (const [token, entry] of this.#tokens) if (entry.expires <= now) this.#tokens.delete(token);
  }
}
