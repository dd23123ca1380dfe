/**
 * A SPDY/3.1 streaming client that behaves as client-go does, for tests of the server side over real sockets:
 * - the upgrade request of httpstream/spdy/roundtripper.go (`Connection: Upgrade`, `Upgrade: SPDY/3.1`, one
 *   `X-Stream-Protocol-Version` header per protocol, most preferred first);
 * - remote commands as tools/remotecommand/v2.go–v4.go open them (error, stdin, stdout, stderr unless TTY, resize with a
 *   TTY from v3 on; each waits for its SYN_REPLY), FIN on stdin, resize as `json.Encoder` lines, the error stream read
 *   to EOF and decoded as errorDecoderV4 / errorDecoderV2 do;
 * - port-forward connections as tools/portforward/portforward.go handleConnection opens them (error stream with
 *   `streamtype`, `port`, `requestid`, closed at once and read to EOF; then the data stream).
 * The SPDY framing and session are the production ones in client role; the server side under test is separate code.
 * @module
 */

import { decodeStatusV4 } from "./client_go.ts";
import { Buffer } from "node:buffer";
import net from "node:net";
import { Duplex } from "node:stream";
import { spdyHeaders } from "../../src/streaming/spdy/header_block.ts";
import { SpdySession, type SpdySessionOptions, type SpdyStream } from "../../src/streaming/spdy/session.ts";

/** The answer to an upgrade request: a session on 101, the status and body otherwise. */
export interface SpdyDialResult {
  status: number;
  /** Response headers, names lower-cased, repeated ones gathered. */
  headers: Map<string, string[]>;
  /** The body of a refusal ("" on 101). */
  body: string;
  /** The negotiated `X-Stream-Protocol-Version` (101 only). */
  protocol: string | undefined;
  /** The client session (101 only); the caller closes it. */
  session: SpdySession | undefined;
}

/** Options of {@link dialSpdy}. */
export interface DialOptions {
  /** The `Upgrade` header's value; default `SPDY/3.1` (another one tests the refusal). */
  upgrade?: string;
}

/** Opens `path` on 127.0.0.1:`port` and asks to upgrade to SPDY/3.1 with `protocols`. */
export async function dialSpdy(
  port: number,
  path: string,
  protocols: readonly string[],
  options: DialOptions = {},
): Promise<SpdyDialResult> {
  const socket = net.connect(port, "127.0.0.1");
  socket.on("error", () => {});
  // client-go's connections are Go TCP connections, which disable Nagle's algorithm by default.
  socket.setNoDelay(true);
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("error", reject);
  });
  const lines = [
    `POST ${path} HTTP/1.1`,
    `Host: 127.0.0.1:${port}`,
    "User-Agent: spdy-test-client",
    "Content-Length: 0",
  ];
  lines.push("Connection: Upgrade", `Upgrade: ${options.upgrade ?? "SPDY/3.1"}`);
  for (const protocol of protocols) lines.push(`X-Stream-Protocol-Version: ${protocol}`);
  socket.write(lines.join("\r\n") + "\r\n\r\n");

  // Read up to the end of the response head.
  let received = Buffer.alloc(0);
  const headEnd = await new Promise<number>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      const end = received.indexOf("\r\n\r\n");
      if (end >= 0) {
        socket.off("data", onData);
        socket.off("end", onEnd);
        socket.pause();
        resolve(end);
      }
    };
    const onEnd = () => reject(new Error("connection closed before the response head"));
    socket.on("data", onData);
    socket.on("end", onEnd);
  });
  const [statusLine = "", ...headerLines] = received.subarray(0, headEnd).toString("latin1").split("\r\n");
  const status = Number(statusLine.split(" ")[1]);
  const headers = new Map<string, string[]>();
  for (const line of headerLines) {
    const colon = line.indexOf(":");
    const name = line.slice(0, colon).trim().toLowerCase();
    headers.set(name, [...headers.get(name) ?? [], line.slice(colon + 1).trim()]);
  }
  const rest = received.subarray(headEnd + 4);
  if (status === 101) {
    const session = new SpdySession(socket, { role: "client", initialBytes: rest });
    return { status, headers, body: "", protocol: headers.get("x-stream-protocol-version")?.[0], session };
  }
  const body: Buffer[] = [rest];
  await new Promise<void>((resolve) => {
    socket.on("data", (chunk: Buffer) => body.push(chunk));
    socket.once("end", () => resolve());
    socket.once("close", () => resolve());
    socket.resume();
  });
  socket.destroy();
  return { status, headers, body: Buffer.concat(body).toString(), protocol: undefined, session: undefined };
}

/** Reads a stream to its end. */
export async function readAll(stream: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/** What client-go's executor returns: nil (exit code 0), a CodeExitError, or another error. */
export interface RemoteCommandResult {
  /** 0 on success, the exit code of a CodeExitError, undefined for another error. */
  exitCode: number | undefined;
  /** The error's text (client-go's `err.Error()`), undefined on success. */
  error: string | undefined;
}

/** The streams a remote command needs. */
export interface RemoteCommandStreams {
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  tty: boolean;
}

/** A remote command as client-go runs it over an upgraded SPDY session. */
export class RemoteCommandClient {
  /** The streams, by `streamtype`. */
  readonly streams: ReadonlyMap<string, SpdyStream>;
  readonly #protocol: string;
  readonly #encoder = new TextEncoder();
  #errorText: Promise<Uint8Array> | undefined;

  private constructor(protocol: string, streams: Map<string, SpdyStream>) {
    this.#protocol = protocol;
    this.streams = streams;
  }

  /** Opens the streams in client-go's order (streamProtocolV2/V3 createStreams), each after the previous reply. */
  static async open(session: SpdySession, protocol: string, want: RemoteCommandStreams): Promise<RemoteCommandClient> {
    const types = ["error"];
    if (want.stdin) types.push("stdin");
    if (want.stdout) types.push("stdout");
    if (want.stderr && !want.tty) types.push("stderr");
    if (want.tty && protocol !== "v2.channel.k8s.io" && protocol !== "channel.k8s.io") types.push("resize");
    const streams = new Map<string, SpdyStream>();
    for (const type of types) streams.set(type, await session.openStream(spdyHeaders([["streamtype", type]])));
    const client = new RemoteCommandClient(protocol, streams);
    // watchErrorStream starts reading at once.
    client.#errorText = readAll(streams.get("error")!);
    return client;
  }

  /** Writes to the command's stdin. */
  writeStdin(data: Uint8Array | string): Promise<void> {
    return this.#stream("stdin").write(typeof data === "string" ? this.#encoder.encode(data) : data);
  }

  /** Closes stdin (FIN), as copyStdin does when the local input ends. */
  closeStdin(): Promise<void> {
    return this.#stream("stdin").end();
  }

  /** Sends a terminal size as `json.NewEncoder(resizeStream).Encode(&size)` writes it. */
  resize(width: number, height: number): Promise<void> {
    return this.#stream("resize").write(this.#encoder.encode(`${JSON.stringify({ Width: width, Height: height })}\n`));
  }

  /** Reads all of stdout (or stderr). */
  readOutput(type: "stdout" | "stderr"): Promise<Uint8Array> {
    return readAll(this.#stream(type));
  }

  /** Reads the error stream to EOF and decodes it as client-go does for the protocol. */
  async result(): Promise<RemoteCommandResult> {
    const message = new TextDecoder().decode(await this.#errorText!);
    if (message.length === 0) return { exitCode: 0, error: undefined };
    if (this.#protocol !== "v4.channel.k8s.io") {
      return { exitCode: undefined, error: `error executing remote command: ${message}` };
    }
    const exit = decodeStatusV4(message);
    if (exit.kind === "success") return { exitCode: 0, error: undefined };
    return { exitCode: exit.kind === "exit" ? exit.code : undefined, error: exit.message };
  }

  #stream(type: string): SpdyStream {
    const stream = this.streams.get(type);
    if (!stream) throw new Error(`no ${type} stream`);
    return stream;
  }
}

/** One forwarded connection as client-go opens it: the data stream, and what the error stream said. */
export interface ForwardStreams {
  data: SpdyStream;
  /** The error stream's text, read to EOF ("" when nothing went wrong). */
  errorText: Promise<string>;
}

/** Opens the error stream (closed at once, read in the background) and the data stream of one forwarded connection. */
export async function openForward(session: SpdySession, port: number, requestId: number): Promise<ForwardStreams> {
  const headers = spdyHeaders([["streamtype", "error"], ["port", String(port)], ["requestid", String(requestId)]]);
  const error = await session.openStream(headers);
  // "we're not writing to this stream"
  await error.end();
  const errorText = readAll(error).then((bytes) => new TextDecoder().decode(bytes));
  headers.set("streamtype", ["data"]);
  const data = await session.openStream(headers);
  return { data, errorText };
}

/** Options of {@link memoryDuplexPair}. */
export interface MemoryPairOptions {
  /** Bytes a side's reader buffers before the other side's writes wait; default 64 KiB. */
  highWaterMark?: number;
}

/**
 * Two connected in-memory duplex streams with TCP-like back-pressure (a write waits while the peer has not read),
 * for unit tests of a session without opening a socket. Ending one side ends the other's input; destroying one
 * destroys both.
 */
export function memoryDuplexPair(options: MemoryPairOptions = {}): [Duplex, Duplex] {
  const highWaterMark = options.highWaterMark ?? 64 * 1024;
  class Side extends Duplex {
    peer: Side | undefined;
    waitingWrite: (() => void) | undefined;

    override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
      const peer = this.peer!;
      if (peer.destroyed) return callback();
      if (peer.push(chunk)) callback();
      else peer.waitingWrite = () => callback();
    }

    override _read(): void {
      const waiting = this.waitingWrite;
      this.waitingWrite = undefined;
      waiting?.();
    }

    override _final(callback: (error?: Error | null) => void): void {
      if (!this.peer!.destroyed) this.peer!.push(null);
      callback();
    }

    override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
      const waiting = this.waitingWrite;
      this.waitingWrite = undefined;
      waiting?.();
      if (!this.peer!.destroyed) this.peer!.destroy();
      callback(error);
    }
  }
  const a = new Side({ readableHighWaterMark: highWaterMark, writableHighWaterMark: highWaterMark });
  const b = new Side({ readableHighWaterMark: highWaterMark, writableHighWaterMark: highWaterMark });
  a.peer = b;
  b.peer = a;
  return [a, b];
}

/** Runs `fn` with a server and a client session joined in memory; both are destroyed afterwards. */
export async function withSpdyPair(
  fn: (server: SpdySession, client: SpdySession) => Promise<void>,
  options: Omit<SpdySessionOptions, "role"> = {},
): Promise<void> {
  const [a, b] = memoryDuplexPair();
  const server = new SpdySession(a, options);
  const client = new SpdySession(b, { ...options, role: "client" });
  try {
    await fn(server, client);
  } finally {
    client.destroy();
    server.destroy();
  }
}
