/**
 * The one error type of the HPACK codec, in a module of its own so that the Huffman code, the tables and the codec
 * can all throw it without importing each other.
 * @module
 */

/** The error thrown for a header block that is not valid HPACK (RFC 7541), or a field that cannot be encoded. */
export class HpackError extends Error {
  /** Creates the error; `cause` is an underlying error, if any. */
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "HpackError";
  }
}
