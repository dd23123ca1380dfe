/**
 * Timestamps: Podman's RFC 3339 strings (nanosecond fractions) to the CRI's nanoseconds since the epoch. Pure.
 * @module
 */

/** Nanoseconds since the epoch of an RFC 3339 time with up to 9 fraction digits; 0n for Go's zero time or junk. */
export function rfc3339ToNanos(text: string | undefined): bigint {
  if (!text) return 0n;
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/.exec(text);
  if (!m) return 0n;
  const seconds = Date.parse(`${m[1]}${m[3]}`);
  if (!Number.isFinite(seconds) || seconds < 0) return 0n; // 0001-01-01: Go's zero time, "never"
  const fraction = BigInt((m[2] ?? "").padEnd(9, "0"));
  return BigInt(seconds) * 1_000_000n + fraction;
}
