/**
 * Splits a List answer for the Stream* RPCs (feature gate CRIListStreaming).
 * @module
 */

/** Items per Stream* message: keeps each message far below gRPC's 4 MiB default limit. */
export const STREAM_BATCH = 200;

/** Yields `items` in slices of {@link STREAM_BATCH}; every item appears in exactly one slice. */
export function* inBatches<T>(items: readonly T[]): Generator<T[]> {
  for (let i = 0; i < items.length; i += STREAM_BATCH) yield items.slice(i, i + STREAM_BATCH);
}
