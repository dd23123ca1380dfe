/**
 * What a streaming session looks like to the code that runs it, whatever carries it (SPDY/3.1 or WebSocket): the
 * streams of one remote command (exec, attach), and the connections of one port-forward. The transports (spdy/,
 * websocket/) build these from their framing; exec.ts, attach.ts and port_forward.ts use them, knowing no framing.
 * @module
 */

/** A byte stream we write to (a client's stdout or stderr): `write` resolves when the transport can take more. */
export interface OutputStream {
  /** Writes bytes; resolves once the transport accepted them (back-pressure: await it before writing more). */
  write(chunk: Uint8Array): Promise<void>;
  /** Ends the stream (the client sees EOF); idempotent. */
  close(): Promise<void>;
}

/** A terminal size change the client sent. */
export interface TerminalSize {
  width: number;
  height: number;
}

/** What the client asked for, negotiated by the transport. */
export interface RemoteCommandOptions {
  stdin: boolean;
  stdout: boolean;
  /** Always false with a TTY (one stream carries both). */
  stderr: boolean;
  tty: boolean;
}

/** The end of a remote command, as the client is told on the error stream. */
export type CommandOutcome =
  | { kind: "exit"; exitCode: number }
  /** The command could not run (the container stopped, Podman failed): a message for the client. */
  | { kind: "error"; message: string };

/** One remote-command session (exec or attach) over any transport. */
export interface RemoteCommandSession {
  readonly options: RemoteCommandOptions;
  /** The client's stdin, ending when the client closes it (or the session ends); absent without stdin. */
  readonly stdin: AsyncIterable<Uint8Array> | undefined;
  readonly stdout: OutputStream | undefined;
  readonly stderr: OutputStream | undefined;
  /** Terminal size changes, the first one usually before any output; absent without a TTY. */
  readonly resize: AsyncIterable<TerminalSize> | undefined;
  /** Aborted when the client goes away (connection closed, reset, idle timeout): stop and clean up. */
  readonly closed: AbortSignal;
  /**
   * Tells the client how the command ended (the Kubernetes Status on the error stream, the close signal on
   * WebSocket), closes every stream and ends the session. Call it exactly once.
   */
  finish(outcome: CommandOutcome): Promise<void>;
}

/** One forwarded connection of a port-forward session. */
export interface ForwardedConnection {
  /** The pod port the client asked for. */
  readonly port: number;
  /** Bytes from the client, ending when the client closes its side. */
  readonly fromClient: AsyncIterable<Uint8Array>;
  /** Bytes to the client. */
  readonly toClient: OutputStream;
  /** Tells the client this connection failed (e.g. nothing listens on the port), then closes it. */
  fail(message: string): Promise<void>;
  /** Aborted when the client drops this connection or the whole session. */
  readonly closed: AbortSignal;
}

/** One port-forward session over any transport: connections arrive as the client opens them. */
export interface PortForwardSession {
  /** The ports the PortForward request named (a client may still ask for others over SPDY, as kubelet allows). */
  readonly ports: readonly number[];
  /** Each connection the client opens, until the session ends. */
  readonly connections: AsyncIterable<ForwardedConnection>;
  /** Aborted when the client goes away. */
  readonly closed: AbortSignal;
  /** Ends the session and every connection. */
  close(): Promise<void>;
}
