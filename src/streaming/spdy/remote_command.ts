/**
 * A remote command (exec, attach) over a SPDY session, as kubelet serves it (pkg/kubelet/cri/streaming/remotecommand/
 * httpstream.go createHTTPStreamStreams and the v1–v4 protocol handlers): the client opens one stream per channel,
 * typed by its `streamtype` header, and the command starts once all the expected ones arrived.
 * @module
 */

import type {
  CommandOutcome,
  OutputStream,
  RemoteCommandOptions,
  RemoteCommandSession,
  TerminalSize,
} from "../session.ts";
import { AsyncQueue } from "../async_queue.ts";
import { SpdyClosedError } from "./errors.ts";
import { errorStreamPayload, PROTOCOL_RULES, type RemoteCommandProtocol } from "./exit_status.ts";
import { RstStatus } from "./frames.ts";
import { TerminalSizeDecoder } from "../terminal_size.ts";
import type { SpdySession, SpdyStream } from "./session.ts";

/** Options of {@link remoteCommandOverSpdy}. */
export interface RemoteCommandOverSpdyOptions {
  /** How long the client has to open its streams; default 30 s (kubelet's DefaultStreamCreationTimeout). */
  streamTimeoutMs?: number;
  /** The exec'd argv, for the non-zero exit message (see exit_status.ts); leave out for attach. */
  command?: readonly string[];
}

/** The `streamtype` header values (k8s.io/api/core/v1 StreamType*). */
type StreamType = "error" | "stdin" | "stdout" | "stderr" | "resize";

/** Resize events kept for a consumer that does not read them; older ones are dropped (only the latest size matters). */
const MAX_PENDING_RESIZES = 16;

/**
 * Waits for the streams a client-go client opens for `options` under `protocol` (error always; stdin, stdout, stderr
 * as asked, never stderr with a TTY; resize with a TTY from v3 on), accepting each, and builds the session. Rejects,
 * closing the SPDY session, when they do not all arrive within the timeout or the client goes away. Streams the
 * request did not ask for, and any opened later, are refused.
 */
export async function remoteCommandOverSpdy(
  session: SpdySession,
  protocol: RemoteCommandProtocol,
  options: RemoteCommandOptions,
  settings: RemoteCommandOverSpdyOptions = {},
): Promise<RemoteCommandSession> {
  // kubelet NewOptions: with a TTY, stderr is not a stream of its own.
  const effective: RemoteCommandOptions = { ...options, stderr: options.stderr && !options.tty };
  const expected = new Set<StreamType>(["error"]);
  if (effective.stdin) expected.add("stdin");
  if (effective.stdout) expected.add("stdout");
  if (effective.stderr) expected.add("stderr");
  // Resizing came with v3 (v3ProtocolHandler.supportsTerminalResizing).
  if (effective.tty && PROTOCOL_RULES[protocol].resize) expected.add("resize");

  const streams = await collectStreams(session, expected, settings.streamTimeoutMs ?? 30_000);
  // Later streams are not part of this command: refuse them for as long as the session lives.
  void refuseRest(session);
  return buildSession(session, protocol, effective, streams, settings.command);
}

async function collectStreams(
  session: SpdySession,
  expected: ReadonlySet<StreamType>,
  timeoutMs: number,
): Promise<Map<StreamType, SpdyStream>> {
  const received = new Map<StreamType, SpdyStream>();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<"timeout">((resolve) => timer = setTimeout(() => resolve("timeout"), timeoutMs));
  try {
    while (received.size < expected.size) {
      const next = await Promise.race([session.streams.next(), timedOut]);
      if (next === "timeout") {
        // kubelet's waitForStreams error text.
        const err = new SpdyClosedError("timed out waiting for client to create streams");
        await session.close(err);
        throw err;
      }
      if (next.done) {
        const reason = session.closed.reason;
        throw reason instanceof Error ? reason : new SpdyClosedError("the client went away before opening its streams");
      }
      const stream = next.value;
      const type = stream.header("streamtype") as StreamType | undefined;
      if (type === undefined || !expected.has(type) || received.has(type)) {
        stream.reset(RstStatus.REFUSED_STREAM);
        continue;
      }
      stream.accept();
      received.set(type, stream);
    }
  } finally {
    clearTimeout(timer);
  }
  return received;
}

async function refuseRest(session: SpdySession): Promise<void> {
  for await (const stream of session.streams) stream.reset(RstStatus.REFUSED_STREAM);
}

function outputStream(stream: SpdyStream): OutputStream {
  return { write: (chunk) => stream.write(chunk), close: () => stream.end() };
}

function resizeEvents(stream: SpdyStream): AsyncIterable<TerminalSize> {
  const queue = new AsyncQueue<TerminalSize>({ highWater: MAX_PENDING_RESIZES, dropOldest: true });
  const decoder = new TerminalSizeDecoder();
  void (async () => {
    try {
      for await (const chunk of stream) {
        for (const size of decoder.push(chunk)) queue.push(size);
        // kubelet's handleResizeEvents stops at the first object that does not decode.
        if (decoder.failure) break;
      }
    } finally {
      queue.end();
    }
  })();
  return queue;
}

function buildSession(
  session: SpdySession,
  protocol: RemoteCommandProtocol,
  options: RemoteCommandOptions,
  streams: Map<StreamType, SpdyStream>,
  command: readonly string[] | undefined,
): RemoteCommandSession {
  const error = streams.get("error")!;
  const stdin = streams.get("stdin");
  const stdout = streams.get("stdout");
  const stderr = streams.get("stderr");
  const resize = streams.get("resize");
  let finished: Promise<void> | undefined;
  const finish = async (outcome: CommandOutcome): Promise<void> => {
    const payload = errorStreamPayload(protocol, outcome, command);
    if (payload) await error.write(payload);
    // FIN on every stream (client-go reads stdout, stderr and the error stream to EOF, and waits for the server to
    // close stdin), then GOAWAY: kubelet resets the streams and closes the connection (ServeExec's conn.Close()).
    await Promise.all([...streams.values()].map((stream) => stream.end()));
    await session.close();
  };
  return {
    options,
    stdin,
    stdout: stdout && outputStream(stdout),
    stderr: stderr && outputStream(stderr),
    resize: resize && resizeEvents(resize),
    closed: session.closed,
    finish: (outcome) => finished ??= finish(outcome),
  };
}
