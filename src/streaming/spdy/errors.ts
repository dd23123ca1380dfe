/**
 * The errors of the SPDY/3 side of the streaming server, in a module of their own so that framing, compression and the
 * session can throw them without importing each other.
 * @module
 */

/** What was wrong with a peer's bytes. */
export type SpdyProtocolErrorReason =
  /** A control frame whose version is not 3. */
  | "unsupported-version"
  /** A frame whose length does not fit its type. */
  | "bad-length"
  /** A control frame longer than this side accepts. */
  | "frame-too-large"
  /** A stream ID of 0 where a stream is required, or one that breaks the ID rules. */
  | "bad-stream-id"
  /** A field with a value the protocol forbids (an RST_STREAM status of 0, a PING ID of 0). */
  | "bad-field"
  /** A header block that does not inflate, is truncated, too large, or not a name/value block. */
  | "bad-header-block";

/** The error raised for bytes that are not SPDY/3 this side can carry: the session ends with GOAWAY. */
export class SpdyProtocolError extends Error {
  /** Why the input was refused. */
  readonly reason: SpdyProtocolErrorReason;

  /** Creates the error; `cause` is an underlying error, if any. */
  constructor(reason: SpdyProtocolErrorReason, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "SpdyProtocolError";
    this.reason = reason;
  }
}

/** The reason a stream's or a session's `closed` signal carries when it ended without a protocol error. */
export class SpdyClosedError extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "SpdyClosedError";
  }
}
