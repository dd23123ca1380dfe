import assert from "node:assert/strict";
import { rfc3339ToNanos } from "./time.ts";

/** 2026-11-25T23:15:11Z in nanoseconds since the epoch. */
const T = 1_795_648_511_000_000_000n;

Deno.test("rfc3339ToNanos()", async (t) => {
  const cases: [string, string | undefined, bigint][] = [
    ["no fraction", "2026-11-25T23:15:11Z", T],
    ["1 fraction digit", "2026-11-25T23:15:11.1Z", T + 100_000_000n],
    ["2 fraction digits", "2026-11-25T23:15:11.12Z", T + 120_000_000n],
    ["3 fraction digits", "2026-11-25T23:15:11.123Z", T + 123_000_000n],
    ["4 fraction digits", "2026-11-25T23:15:11.1234Z", T + 123_400_000n],
    ["5 fraction digits", "2026-11-25T23:15:11.12345Z", T + 123_450_000n],
    ["6 fraction digits", "2026-11-25T23:15:11.123456Z", T + 123_456_000n],
    ["7 fraction digits", "2026-11-25T23:15:11.1234567Z", T + 123_456_700n],
    ["8 fraction digits (Podman trimmed a trailing zero)", "2026-11-25T23:15:11.17988038Z", T + 179_880_380n],
    ["9 fraction digits", "2026-11-25T23:15:11.179880381Z", T + 179_880_381n],
    ["a fraction with leading zeros", "2026-11-25T23:15:11.000000001Z", T + 1n],
    ["an all-zero fraction", "2026-11-25T23:15:11.000000000Z", T],
    ["the largest fraction", "2026-11-25T23:15:11.999999999Z", T + 999_999_999n],
    ["a positive offset", "2026-11-26T00:15:11.17988038+01:00", T + 179_880_380n],
    ["a negative offset", "2026-11-25T18:45:11.5-04:30", T + 500_000_000n],
    ["offset +00:00", "2026-11-25T23:15:11+00:00", T],
    ["an offset that crosses the date", "2026-11-26T08:15:11+09:00", T],
    ["a leap day", "2024-02-29T12:00:00Z", 1_709_208_000_000_000_000n],
    ["one second after the epoch", "1970-01-01T00:00:01Z", 1_000_000_000n],
    ["one second and one nanosecond after the epoch", "1970-01-01T00:00:01.000000001Z", 1_000_000_001n],
    ["Y2K", "2000-01-01T00:00:00Z", 946_684_800_000_000_000n],
    // Beyond Number.MAX_SAFE_INTEGER nanoseconds: only exact bigint arithmetic gets the last digits right.
    ["the largest int64 nanosecond time", "2262-04-11T23:47:16.854775807Z", 9_223_372_036_854_775_807n],
    ["Go's zero time", "0001-01-01T00:00:00Z", 0n],
    ["Go's zero time with an offset", "0001-01-01T00:00:00+00:00", 0n],
    ["undefined", undefined, 0n],
    ["the empty string", "", 0n],
    ["junk", "yesterday", 0n],
    ["a date without a time", "2026-11-25", 0n],
    ["a time without a zone", "2026-11-25T23:15:11", 0n],
    ["a time without a zone and a fraction", "2026-11-25T23:15:11.123", 0n],
    ["10 fraction digits", "2026-11-25T23:15:11.1234567890Z", 0n],
    ["a '.' without digits", "2026-11-25T23:15:11.Z", 0n],
    ["a space instead of 'T'", "2026-11-25 23:15:11Z", 0n],
    ["an offset without ':'", "2026-11-25T23:15:11+0100", 0n],
    ["surrounding whitespace", " 2026-11-25T23:15:11Z ", 0n],
    ["month 13", "2026-13-01T00:00:00Z", 0n],
    ["minute 60", "2026-11-25T23:60:00Z", 0n],
    ["Unix seconds", "1795648511", 0n],
  ];
  for (const [what, text, nanos] of cases) {
    await t.step(`rfc3339ToNanos() returns ${nanos}n for ${what}`, () => {
      assert.equal(rfc3339ToNanos(text), nanos);
    });
  }

  await t.step("rfc3339ToNanos() returns a bigint", () => {
    assert.equal(typeof rfc3339ToNanos("2026-11-25T23:15:11.17988038Z"), "bigint");
    assert.equal(typeof rfc3339ToNanos("junk"), "bigint");
  });

  await t.step("rfc3339ToNanos() gives equal instants in different zones equal nanoseconds", () => {
    assert.equal(
      rfc3339ToNanos("2026-11-25T23:15:11.123456789Z"),
      rfc3339ToNanos("2026-11-26T05:45:11.123456789+06:30"),
    );
  });
  await t.step({
    name: "rfc3339ToNanos() keeps the fraction within the epoch's first second",
    fn: () => {
      assert.equal(rfc3339ToNanos("1970-01-01T00:00:00.5Z"), 500_000_000n);
      assert.equal(rfc3339ToNanos("1970-01-01T00:00:00.000000001Z"), 1n);
    },
  });
});
