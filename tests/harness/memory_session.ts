/**
 * An in-memory RemoteCommandSession for unit tests of what runs a session (the Podman bridge): the test feeds stdin
 * and terminal sizes, reads what was written to stdout and stderr, sees the outcome, and can make the client vanish.
 * @module
 */
import { AsyncQueue } from "../../src/streaming/async_queue.ts";
import type {
  CommandOutcome,
  OutputStream,
  RemoteCommandOptions,
  RemoteCommandSession,
  TerminalSize,
} from "../../src/streaming/session.ts";

/** What the test sees of the client's output streams. */
class Collected implements OutputStream {
  readonly chunks: Uint8Array[] = [];
  closed = false;
  write(chunk: Uint8Array): Promise<void> {
    this.chunks.push(chunk.slice());
    return Promise.resolve();
  }
  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }
  /** Everything written, as text. */
  text(): string {
    return new TextDecoder().decode(new Uint8Array(this.chunks.flatMap((c) => [...c])));
  }
}

/** A session and the test's handles on it. */
export function memorySession(options: RemoteCommandOptions) {
  const stdin = new AsyncQueue<Uint8Array>({ highWater: Infinity });
  const resize = new AsyncQueue<TerminalSize>({ highWater: Infinity });
  const stdout = new Collected();
  const stderr = new Collected();
  const gone = new AbortController();
  const finished = Promise.withResolvers<CommandOutcome>();
  const session: RemoteCommandSession = {
    options,
    stdin: options.stdin ? stdin : undefined,
    stdout: options.stdout ? stdout : undefined,
    stderr: options.stderr ? stderr : undefined,
    resize: options.tty ? resize : undefined,
    closed: gone.signal,
    finish: (outcome) => {
      finished.resolve(outcome);
      stdin.end();
      resize.end();
      return Promise.resolve();
    },
  };
  return {
    session,
    /** Types into the client's stdin. */
    type: (text: string) => stdin.push(new TextEncoder().encode(text)),
    /** Closes the client's stdin. */
    closeStdin: () => stdin.end(),
    /** Sends a terminal size. */
    resizeTo: (size: TerminalSize) => resize.push(size),
    stdout,
    stderr,
    /** The client goes away. */
    vanish: () => {
      gone.abort();
      stdin.end();
      resize.end();
    },
    /** How the session was finished. */
    outcome: finished.promise,
  };
}
