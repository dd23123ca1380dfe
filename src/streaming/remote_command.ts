/**
 * Runs a remote-command session (exec, attach) against a process stream of Podman's: the client's stdin into the
 * process, the process's output to the client's stdout and stderr (demultiplexed without a TTY), the client's terminal
 * sizes to the process, and the end — the exit code, or why it could not run — back to the client. Back-pressure
 * holds both ways: Podman's socket is read only as fast as the client takes the output, and the client's stdin only
 * as fast as the process takes it. A client that goes away ends the process (exec) or the attachment (attach).
 * @module
 */
import { FrameDemuxer } from "../podman/exec.ts";
import type { CommandOutcome, RemoteCommandSession, TerminalSize } from "./session.ts";

/** The process side: an exec session or an attachment. */
export interface ProcessStream {
  output(): AsyncIterable<Uint8Array>;
  write(chunk: Uint8Array): Promise<void>;
  endInput(): void;
  resize(size: TerminalSize): Promise<void>;
  close(): Promise<void>;
}

/** How a bridged process ends. */
export interface ProcessEnd {
  /** The exit code once the output ended (exec); undefined for an attachment, which just ends. */
  exitCode?: () => Promise<number>;
  /** Ends the process when the client went away first (exec kills it; an attachment only detaches). */
  abandon?: () => Promise<void>;
}

/**
 * Bridges `session` and `process` until the process ends or the client goes away; finishes the session. `sizes`
 * replaces the session's resize stream when the caller already took its first size (see {@link firstTerminalSize}).
 */
export async function bridgeRemoteCommand(
  session: RemoteCommandSession,
  process: ProcessStream,
  end: ProcessEnd,
  log: (msg: string, fields: Record<string, unknown>) => void = () => {},
  sizes: AsyncIterable<TerminalSize> | undefined = session.resize,
): Promise<void> {
  // Neither pump is awaited: each ends with its source (the client's stdin, its resizes), which finish() closes.
  pumpStdin(session, process).catch((err: Error) => log("stdin pump failed", { error: err.message }));
  pumpResize(sizes, process, log).catch(() => {});
  // A client that goes away while the process is silent: end the process (exec) and drop Podman's connection, which
  // also ends the output pump below.
  let abandoned: Promise<void> | undefined;
  const onClientGone = () => {
    abandoned = (async () => {
      await end.abandon?.().catch((err: Error) => log("cannot end an abandoned process", { error: err.message }));
      await process.close().catch(() => {});
    })();
  };
  if (session.closed.aborted) onClientGone();
  else session.closed.addEventListener("abort", onClientGone, { once: true });
  let outcome: CommandOutcome;
  try {
    await pumpOutput(session, process, session.options.tty);
    outcome = end.exitCode ? { kind: "exit", exitCode: await end.exitCode() } : { kind: "exit", exitCode: 0 };
  } catch (err) {
    outcome = { kind: "error", message: (err as Error).message };
  } finally {
    session.closed.removeEventListener("abort", onClientGone);
    await process.close().catch(() => {});
  }
  if (abandoned) {
    await abandoned;
    return;
  }
  await session.finish(outcome);
}

/** Copies the client's stdin into the process, then ends the process's stdin. */
async function pumpStdin(session: RemoteCommandSession, process: ProcessStream): Promise<void> {
  if (!session.stdin) {
    process.endInput(); // nothing will come: the process reads EOF
    return;
  }
  try {
    for await (const chunk of session.stdin) await process.write(chunk);
  } finally {
    process.endInput();
  }
}

/** Passes each terminal size on; a failed resize is logged, not fatal (the process may have just ended). */
async function pumpResize(
  sizes: AsyncIterable<TerminalSize> | undefined,
  process: ProcessStream,
  log: (msg: string, fields: Record<string, unknown>) => void,
): Promise<void> {
  if (!sizes) return;
  for await (const size of sizes) {
    await process.resize(size).catch((err: Error) => log("terminal resize failed", { error: err.message }));
  }
}

/**
 * Copies the process's output to the client until the process's connection ends or the client goes away. Without a
 * TTY the stream is Docker's multiplexed framing (1 stdout, 2 stderr); each piece is written before the next chunk is
 * read.
 */
async function pumpOutput(session: RemoteCommandSession, process: ProcessStream, tty: boolean): Promise<void> {
  const pending: Array<[number, Uint8Array]> = [];
  const demux = new FrameDemuxer((stream, piece) => pending.push([stream, piece.slice()]));
  for await (const chunk of process.output()) {
    if (session.closed.aborted) return;
    if (tty) {
      await session.stdout?.write(chunk);
      continue;
    }
    demux.push(chunk);
    for (const [stream, piece] of pending.splice(0)) {
      const target = stream === 2 ? session.stderr : session.stdout;
      await target?.write(piece);
    }
  }
}

/**
 * Waits up to `waitMs` for the client's first terminal size, so that a TTY command can start at that size rather
 * than at 0×0 (clients send their size as soon as the streams are up; a command such as `stty size` or `top` reads
 * it at once). Returns that size, if one came in time, and the sizes still to come, none lost.
 */
export async function firstTerminalSize(
  sizes: AsyncIterable<TerminalSize> | undefined,
  waitMs: number,
  closed: AbortSignal,
): Promise<{ first: TerminalSize | undefined; rest: AsyncIterable<TerminalSize> | undefined }> {
  if (!sizes) return { first: undefined, rest: undefined };
  const iterator = sizes[Symbol.asyncIterator]();
  const pending = iterator.next();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let onClosed: (() => void) | undefined;
  const gaveUp = new Promise<"gave-up">((resolve) => {
    timer = setTimeout(() => resolve("gave-up"), waitMs);
    onClosed = () => resolve("gave-up");
    closed.addEventListener("abort", onClosed, { once: true });
  });
  const got = await Promise.race([pending, gaveUp]);
  clearTimeout(timer);
  closed.removeEventListener("abort", onClosed!);
  const remaining = (async function* () {
    if (got === "gave-up") {
      const next = await pending;
      if (next.done) return;
      yield next.value;
    }
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) yield next.value;
  })();
  if (got === "gave-up" || got.done) return { first: undefined, rest: got === "gave-up" ? remaining : undefined };
  return { first: got.value, rest: remaining };
}
