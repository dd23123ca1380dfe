/**
 * Responses encoded once: a handler that answers many calls with the same, unchanging response object (a List
 * answered from the cache while nothing changed) marks it with {@link encodeOnce}, and the response serializer
 * (src/grpc/service_definition.ts) keeps its bytes with it. With 330 containers, encoding ListContainers' answer was most of
 * the call's time.
 * @module
 */

/** Marked responses, and their bytes once encoded (null until then). Weak: an answer nobody holds is let go. */
const marked = new WeakMap<object, Uint8Array | null>();

/** Marks `response` as never changed again, so that its encoding can be kept and reused; returns it. */
export function encodeOnce<T extends object>(response: T): T {
  if (!marked.has(response)) marked.set(response, null);
  return response;
}

/** The bytes of `value` when it is marked and was encoded before; else `encode(value)`, kept when it is marked. */
export function encodedOnce<T>(value: T, encode: (value: T) => Uint8Array): Uint8Array {
  if (typeof value !== "object" || value === null) return encode(value);
  const kept = marked.get(value);
  if (kept) return kept;
  const bytes = encode(value);
  if (kept === null) marked.set(value, bytes);
  return bytes;
}
