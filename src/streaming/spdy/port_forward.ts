/**
 * A port-forward session over SPDY, as kubelet serves it (pkg/kubelet/cri/streaming/portforward/httpstream.go): for
 * each forwarded connection client-go opens an error stream and a data stream (tools/portforward/portforward.go
 * handleConnection), both carrying `streamtype`, `port` and `requestid` headers; kubelet pairs them by request ID and
 * forwards once both are there.
 * @module
 */

import type { ForwardedConnection, OutputStream, PortForwardSession } from "../session.ts";
import { AsyncQueue } from "../async_queue.ts";
import { RstStatus } from "./frames.ts";
import type { SpdySession, SpdyStream } from "./session.ts";

/** The port-forward subprotocol (k8s.io/kubelet portforward.ProtocolV1Name). */
export const PORT_FORWARD_PROTOCOLS = ["portforward.k8s.io"] as const;

/** Options of {@link portForwardOverSpdy}. */
export interface PortForwardOverSpdyOptions {
  /** How long the second stream of a pair may keep the first waiting; default 30 s (kubelet's stream creation timeout). */
  streamTimeoutMs?: number;
  /** Told why a stream was refused (kubelet logs these): a bad header, or a second stream of one type for a request. */
  onStreamRejected?: (reason: string) => void;
}

interface Pair {
  requestId: string;
  error: SpdyStream | undefined;
  data: SpdyStream | undefined;
  timer: ReturnType<typeof setTimeout>;
}

const encoder = new TextEncoder();

/**
 * Serves the port-forward streams of `session`: each complete error/data pair becomes a {@link ForwardedConnection}.
 * Streams with a missing or bad `port` or `streamtype` are reset unanswered, as kubelet's httpStreamReceived rejects
 * them; a pair still incomplete after the timeout is told so on its error stream and dropped.
 */
export function portForwardOverSpdy(
  session: SpdySession,
  ports: readonly number[],
  options: PortForwardOverSpdyOptions = {},
): PortForwardSession {
  const timeoutMs = options.streamTimeoutMs ?? 30_000;
  const connections = new AsyncQueue<ForwardedConnection>({ highWater: Infinity });
  const pairs = new Map<string, Pair>();

  const dropPair = (pair: Pair) => {
    clearTimeout(pair.timer);
    if (pairs.get(pair.requestId) === pair) pairs.delete(pair.requestId);
  };

  const serve = async () => {
    try {
      for await (const stream of session.streams) {
        const rejection = validate(stream);
        if (rejection) {
          options.onStreamRejected?.(rejection);
          // kubelet: the handler's error makes spdystream reset the stream instead of replying (Stream.Reset, CANCEL).
          stream.reset(RstStatus.CANCEL);
          continue;
        }
        const type = stream.header("streamtype") as "error" | "data";
        const requestId = requestIdOf(stream, type);
        const known = pairs.get(requestId);
        if (known?.[type]) {
          // kubelet httpStreamPair.add: "error stream already assigned", printed on the pair's error stream.
          const message = `error processing stream for request ${requestId}: ${type} stream already assigned`;
          if (known.error) void known.error.write(encoder.encode(message));
          options.onStreamRejected?.(message);
          stream.reset(RstStatus.CANCEL);
          continue;
        }
        stream.accept();
        let pair = known;
        if (!pair) {
          const created: Pair = {
            requestId,
            error: undefined,
            data: undefined,
            timer: setTimeout(() => {
              // kubelet monitorStreamPair: the message goes to the error stream if there is one, and the pair is gone.
              dropPair(created);
              void failPair(created, `timed out waiting for streams of request ${requestId}`);
            }, timeoutMs),
          };
          pair = created;
          pairs.set(requestId, pair);
        }
        pair[type] = stream;
        if (pair.error && pair.data) {
          dropPair(pair);
          connections.push(forwardedConnection(session, pair.error, pair.data));
        }
      }
    } finally {
      for (const pair of [...pairs.values()]) dropPair(pair);
      connections.end();
      for (const connection of connections.drain()) void connection.toClient.close();
    }
  };
  void serve();

  return {
    ports,
    connections,
    closed: session.closed,
    close: () => session.close(),
  };
}

// kubelet httpStreamReceived: a port that parses as a uint16 above 0, and a stream type of error or data.
function validate(stream: SpdyStream): string | undefined {
  const port = stream.header("port");
  if (!port) return `"port" header is required`;
  if (!/^\d+$/.test(port) || Number(port) < 1 || Number(port) > 65535) return `unable to parse "${port}" as a port`;
  const type = stream.header("streamtype");
  if (!type) return `"streamtype" header is required`;
  if (type !== "error" && type !== "data") return `invalid stream type "${type}"`;
  return undefined;
}

// kubelet httpStreamHandler.requestID: the header, or for clients too old to send one, a guess from the stream ID
// (the error stream's own ID, the data stream's ID minus 2).
function requestIdOf(stream: SpdyStream, type: "error" | "data"): string {
  const header = stream.header("requestid");
  if (header) return header;
  return String(type === "error" ? stream.id : stream.id - 2);
}

async function failPair(pair: Pair, message: string): Promise<void> {
  if (pair.error) {
    await pair.error.write(encoder.encode(message));
    await pair.error.end();
  }
  pair.data?.reset(RstStatus.CANCEL);
}

function forwardedConnection(session: SpdySession, error: SpdyStream, data: SpdyStream): ForwardedConnection {
  // kubelet portForward: `defer dataStream.Close(); defer errorStream.Close()` — both get FIN when forwarding ends,
  // and client-go waits for the error stream's EOF before it lets the connection go.
  let ended: Promise<void> | undefined;
  const endBoth = () =>
    ended ??= (async () => {
      await error.end();
      await data.end();
    })();
  const toClient: OutputStream = { write: (chunk) => data.write(chunk), close: endBoth };
  return {
    port: Number(data.header("port")),
    fromClient: data,
    toClient,
    fail: async (message: string) => {
      if (!ended) await error.write(encoder.encode(message));
      await endBoth();
    },
    closed: AbortSignal.any([data.closed, session.closed]),
  };
}
