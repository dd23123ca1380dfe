/**
 * Small helpers shared by the integration test harness: unique names, temporary directories, free TCP ports
 * on loopback and polling until a condition holds.
 *
 * Every run gets its own id so that leftovers from earlier (possibly crashed) runs never collide with the
 * objects a new run creates.
 * @module
 */

const RUN_ID = `${Date.now().toString(36)}${Deno.pid.toString(36)}${crypto.randomUUID().slice(0, 4)}`;
let counter = 0;

/** Returns an id that is fixed for this process and different from every earlier or concurrent run. */
export function runId(): string {
  return RUN_ID;
}

/** Returns a name unique across runs and within this run, e.g. `uniqueName("pod")` → `"pod-lq2x9f1k3a-1"`. */
export function uniqueName(prefix: string): string {
  counter += 1;
  return `${prefix}-${RUN_ID}-${counter}`;
}

/** A temporary directory that removes itself (recursively) on `cleanup()` or at the end of an `await using`. */
export interface TempDir extends AsyncDisposable {
  /** Absolute path of the directory. */
  readonly path: string;
  /** Removes the directory and everything below it; never throws, safe to call twice. */
  cleanup(): Promise<void>;
}

/** Creates a temporary directory under `$TMPDIR` (or /tmp) whose name starts with `cri-podman-<prefix>-`. */
export async function makeTempDir(prefix = "test"): Promise<TempDir> {
  // Short names on purpose: unix socket paths inside this directory must stay under 108 bytes.
  const path = await Deno.makeTempDir({ prefix: `cri-podman-${prefix}-` });
  const cleanup = async () => {
    await Deno.remove(path, { recursive: true }).catch(() => {});
  };
  return { path, cleanup, [Symbol.asyncDispose]: cleanup };
}

/**
 * Returns a TCP port on 127.0.0.1 that was free a moment ago. Another process may still take it before the
 * caller binds it: callers that start servers should retry on "address already in use".
 */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/** Options for {@linkcode waitFor}. */
export interface WaitForOptions {
  /** Give up after this many milliseconds (default 10 000). */
  timeoutMs?: number;
  /** Pause between attempts in milliseconds (default 50). */
  intervalMs?: number;
  /** Says what was awaited, for the timeout error. */
  what?: string;
}

/**
 * Calls `fn` until it returns a value other than `undefined`, `null` or `false`, and returns that value. A call
 * that throws counts as "not yet"; the last error is the cause of the timeout error.
 */
export async function waitFor<T>(
  fn: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  options: WaitForOptions = {},
): Promise<T> {
  const { timeoutMs = 10_000, intervalMs = 50, what = "condition" } = options;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await fn();
      if (value !== undefined && value !== null && value !== false) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) {
      const detail = lastError instanceof Error ? `: ${lastError.message}` : "";
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}${detail}`, { cause: lastError });
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** Tells whether a process with this id exists (a zombie counts as gone once its parent has reaped it). */
export function processExists(pid: number): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    // Field 3 is the state; "Z" (zombie) and "X" (dead) mean the process no longer runs.
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    return state !== "Z" && state !== "X";
  } catch {
    return false;
  }
}
