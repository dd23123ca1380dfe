import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { SpdyProtocolError } from "./errors.ts";
import {
  type ControlFrame,
  ControlType,
  encodeControlHeader,
  encodeDataHeader,
  encodeFrame,
  Flag,
  FrameParser,
  GoAwayStatus,
  type ParsedFrame,
  RstStatus,
  SettingsId,
  type SpdyFrame,
} from "./frames.ts";
import { bytesOf, CLIENT_FRAMES } from "./go_vectors_test_data.ts";

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex");

// Parses `input` whole and then byte by byte; both must give the same frames (DATA pieces joined per frame).
function parseBothWays(input: Uint8Array, parserOptions = {}): SpdyFrame[] {
  const whole = joinData(new FrameParser(parserOptions).push(input));
  const parser = new FrameParser(parserOptions);
  const pieces: ParsedFrame[] = [];
  for (let i = 0; i < input.length; i++) pieces.push(...parser.push(input.subarray(i, i + 1)));
  assert.ok(parser.atFrameBoundary);
  assert.deepEqual(joinData(pieces), whole, "byte-by-byte parse differs from whole-chunk parse");
  return whole;
}

// Joins the DATA pieces of each frame; checks FIN appears only on a frame's last piece.
function joinData(frames: ParsedFrame[]): SpdyFrame[] {
  const out: SpdyFrame[] = [];
  let pending: Uint8Array[] = [];
  for (const frame of frames) {
    if (frame.type === "unknown") continue;
    if (frame.type !== "data") {
      out.push({ ...frame, ...("headerBlock" in frame ? { headerBlock: Uint8Array.from(frame.headerBlock) } : {}) });
      continue;
    }
    if (!frame.last) assert.equal(frame.flags & Flag.FIN, 0, "FIN on a piece that is not the frame's last");
    pending.push(frame.data);
    if (frame.last) {
      out.push({
        type: "data",
        streamId: frame.streamId,
        flags: frame.flags,
        data: Uint8Array.from(Buffer.concat(pending)),
      });
      pending = [];
    }
  }
  assert.equal(pending.length, 0);
  return out;
}

const parseOne = (bytes: Uint8Array): SpdyFrame => {
  const frames = parseBothWays(bytes);
  assert.equal(frames.length, 1);
  return frames[0]!;
};

Deno.test("FrameParser reads the frames Go's spdystream framer writes, whole and one octet at a time", () => {
  const v = CLIENT_FRAMES;
  const syn = parseOne(bytesOf(v.synStreamError));
  assert.ok(syn.type === "syn_stream");
  assert.deepEqual({ ...syn, headerBlock: undefined }, {
    type: "syn_stream",
    flags: 0,
    streamId: 1,
    associatedStreamId: 0,
    priority: 0,
    slot: 0,
    headerBlock: undefined,
  });
  assert.equal(hex(syn.headerBlock), hex(bytesOf(v.synStreamError).subarray(18)));
  const fin = parseOne(bytesOf(v.synStreamFinPriority));
  assert.ok(fin.type === "syn_stream");
  assert.equal(fin.flags, Flag.FIN);
  assert.equal(fin.priority, 7);
  assert.equal(fin.streamId, 5);
  const headers = parseOne(bytesOf(v.headersEmpty));
  assert.ok(headers.type === "headers");
  assert.equal(headers.streamId, 7);
  assert.deepEqual(parseOne(bytesOf(v.data)), {
    type: "data",
    streamId: 3,
    flags: 0,
    data: new TextEncoder().encode("hello"),
  });
  assert.deepEqual(parseOne(bytesOf(v.dataFinEmpty)), {
    type: "data",
    streamId: 3,
    flags: Flag.FIN,
    data: new Uint8Array(0),
  });
  assert.deepEqual(parseOne(bytesOf(v.rstCancel)), { type: "rst_stream", streamId: 5, status: RstStatus.CANCEL });
  assert.deepEqual(parseOne(bytesOf(v.ping)), { type: "ping", id: 1 });
  assert.deepEqual(parseOne(bytesOf(v.goAway)), { type: "goaway", lastGoodStreamId: 7, status: GoAwayStatus.OK });
  assert.deepEqual(parseOne(bytesOf(v.settings)), {
    type: "settings",
    flags: 0,
    entries: [
      { flags: 1, id: SettingsId.INITIAL_WINDOW_SIZE, value: 65536 },
      { flags: 0, id: SettingsId.MAX_CONCURRENT_STREAMS, value: 100 },
    ],
  });
  assert.deepEqual(parseOne(bytesOf(v.windowUpdate)), { type: "window_update", streamId: 3, delta: 32768 });
  // All of them back to back, as one connection carries them.
  const all = Buffer.concat(Object.values(v).map(bytesOf));
  assert.equal(parseBothWays(all).length, Object.keys(v).length);
});

Deno.test("encodeFrame() writes the octets Go's spdystream framer writes", () => {
  const v = CLIENT_FRAMES;
  const cases: Array<[SpdyFrame, Uint8Array]> = [
    [{ type: "data", streamId: 3, flags: 0, data: new TextEncoder().encode("hello") }, bytesOf(v.data)],
    [{ type: "data", streamId: 3, flags: Flag.FIN, data: new Uint8Array(0) }, bytesOf(v.dataFinEmpty)],
    [{ type: "rst_stream", streamId: 5, status: RstStatus.CANCEL }, bytesOf(v.rstCancel)],
    [{ type: "ping", id: 1 }, bytesOf(v.ping)],
    [{ type: "goaway", lastGoodStreamId: 7, status: GoAwayStatus.OK }, bytesOf(v.goAway)],
    [{
      type: "settings",
      flags: 0,
      entries: [
        { flags: 1, id: SettingsId.INITIAL_WINDOW_SIZE, value: 65536 },
        { flags: 0, id: SettingsId.MAX_CONCURRENT_STREAMS, value: 100 },
      ],
    }, bytesOf(v.settings)],
    [{ type: "window_update", streamId: 3, delta: 32768 }, bytesOf(v.windowUpdate)],
  ];
  for (const [frame, expected] of cases) assert.equal(hex(encodeFrame(frame)), hex(expected), frame.type);
  // Header-bearing frames: the same framing around the very block Go compressed.
  for (const vector of [v.synStreamError, v.synStreamStdin, v.synStreamFinPriority, v.headersEmpty]) {
    const bytes = bytesOf(vector);
    const parsed = new FrameParser().push(bytes)[0] as ControlFrame;
    assert.ok(parsed.type === "syn_stream" || parsed.type === "headers");
    assert.equal(hex(encodeFrame(parsed)), hex(bytes), vector.description);
  }
  assert.equal(hex(encodeDataHeader(0x7fffffff, Flag.FIN, 0xffffff)), "7fffffff01ffffff");
  assert.equal(hex(encodeControlHeader(ControlType.SYN_REPLY, Flag.FIN, 4)), "8003000201000004");
});

Deno.test("encodeFrame() and FrameParser round-trip every frame type", () => {
  const frames: SpdyFrame[] = [
    {
      type: "syn_stream",
      flags: Flag.FIN | Flag.UNIDIRECTIONAL,
      streamId: 0x7fffffff,
      associatedStreamId: 9,
      priority: 3,
      slot: 2,
      headerBlock: Uint8Array.of(1, 2, 3),
    },
    { type: "syn_reply", flags: Flag.FIN, streamId: 2, headerBlock: Uint8Array.of(4, 5) },
    { type: "headers", flags: 0, streamId: 4, headerBlock: Uint8Array.of(6) },
    { type: "rst_stream", streamId: 11, status: RstStatus.REFUSED_STREAM },
    { type: "settings", flags: Flag.CLEAR_SETTINGS, entries: [] },
    { type: "ping", id: 0xfffffffe },
    { type: "goaway", lastGoodStreamId: 13, status: GoAwayStatus.PROTOCOL_ERROR },
    { type: "window_update", streamId: 0, delta: 0x7fffffff },
    { type: "data", streamId: 5, flags: Flag.FIN, data: Uint8Array.from({ length: 70_000 }, (_, i) => i & 0xff) },
  ];
  assert.deepEqual(parseBothWays(Buffer.concat(frames.map(encodeFrame))), frames);
});

Deno.test("FrameParser hands DATA on in pieces as it arrives, FIN on the last piece only", () => {
  const parser = new FrameParser();
  const frame = encodeFrame({ type: "data", streamId: 7, flags: Flag.FIN, data: Uint8Array.of(1, 2, 3, 4, 5, 6) });
  assert.deepEqual(parser.push(frame.subarray(0, 10)), [
    { type: "data", streamId: 7, flags: 0, data: Uint8Array.of(1, 2), last: false },
  ]);
  assert.equal(parser.atFrameBoundary, false);
  assert.deepEqual(parser.push(frame.subarray(10)), [
    { type: "data", streamId: 7, flags: Flag.FIN, data: Uint8Array.of(3, 4, 5, 6), last: true },
  ]);
  assert.ok(parser.atFrameBoundary);
  // A maximal DATA frame is accepted without its payload being buffered: the header alone yields nothing yet.
  assert.deepEqual(parser.push(encodeDataHeader(1, 0, 0xffffff)), []);
});

Deno.test("FrameParser skips control frames of unknown types, as draft 3 requires", () => {
  const unknown = Buffer.concat([encodeControlHeader(10, 0, 3), Uint8Array.of(1, 2, 3)]);
  const ping = encodeFrame({ type: "ping", id: 3 });
  const parsed = new FrameParser().push(Buffer.concat([unknown, ping]));
  assert.deepEqual(parsed, [{ type: "unknown", controlType: 10, flags: 0, length: 3 }, { type: "ping", id: 3 }]);
});

Deno.test("FrameParser refuses malformed frames with a typed error, and everything after", () => {
  const control = (type: number, payload: number[], flags = 0) =>
    Buffer.concat([encodeControlHeader(type, flags, payload.length), Uint8Array.from(payload)]);
  const cases: Array<[string, Uint8Array, string]> = [
    ["SPDY/2 control frame", Uint8Array.of(0x80, 2, 0, 6, 0, 0, 0, 4, 0, 0, 0, 1), "unsupported-version"],
    ["RST_STREAM of 7 octets", control(ControlType.RST_STREAM, [0, 0, 0, 1, 0, 0, 5]), "bad-length"],
    ["PING of 5 octets", control(ControlType.PING, [0, 0, 0, 1, 0]), "bad-length"],
    ["GOAWAY of 4 octets", control(ControlType.GOAWAY, [0, 0, 0, 1]), "bad-length"],
    ["WINDOW_UPDATE of 9 octets", control(ControlType.WINDOW_UPDATE, [0, 0, 0, 1, 0, 0, 0, 1, 0]), "bad-length"],
    ["SYN_STREAM of 9 octets", control(ControlType.SYN_STREAM, [0, 0, 0, 1, 0, 0, 0, 0, 0]), "bad-length"],
    ["SYN_REPLY of 3 octets", control(ControlType.SYN_REPLY, [0, 0, 1]), "bad-length"],
    [
      "SETTINGS announcing 2 entries with 1",
      control(ControlType.SETTINGS, [0, 0, 0, 2, 0, 0, 0, 4, 0, 0, 0, 1]),
      "bad-length",
    ],
    ["DATA on stream 0", encodeDataHeader(0, 0, 0), "bad-stream-id"],
    ["SYN_STREAM on stream 0", control(ControlType.SYN_STREAM, [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x78]), "bad-stream-id"],
    ["RST_STREAM on stream 0", control(ControlType.RST_STREAM, [0, 0, 0, 0, 0, 0, 0, 5]), "bad-stream-id"],
    ["RST_STREAM with status 0", control(ControlType.RST_STREAM, [0, 0, 0, 1, 0, 0, 0, 0]), "bad-field"],
    ["PING with ID 0", control(ControlType.PING, [0, 0, 0, 0]), "bad-field"],
  ];
  for (const [what, bytes, reason] of cases) {
    for (const chunked of [false, true]) {
      const parser = new FrameParser();
      assert.throws(
        () => {
          if (!chunked) parser.push(bytes);
          else for (let i = 0; i < bytes.length; i++) parser.push(bytes.subarray(i, i + 1));
        },
        (err: unknown) => err instanceof SpdyProtocolError && err.reason === reason,
        what,
      );
      assert.throws(
        () => parser.push(encodeFrame({ type: "ping", id: 1 })),
        SpdyProtocolError,
        `${what}: then refuses`,
      );
    }
  }
});

Deno.test("FrameParser refuses an over-large control frame from its header, before buffering it", () => {
  const parser = new FrameParser({ maxControlFrameSize: 1024 });
  assert.deepEqual(parser.push(encodeControlHeader(ControlType.SYN_STREAM, 0, 1024).subarray(0, 7)), []);
  assert.throws(
    () => parser.push(Buffer.concat([encodeControlHeader(ControlType.SYN_STREAM, 0, 1025)]).subarray(7)),
    (err: unknown) => err instanceof SpdyProtocolError && err.reason === "frame-too-large",
  );
  // The default allows 1 MiB, refuses more.
  assert.throws(
    () => new FrameParser().push(encodeControlHeader(ControlType.HEADERS, 0, (1 << 20) + 1)),
    (err: unknown) => err instanceof SpdyProtocolError && err.reason === "frame-too-large",
  );
  assert.throws(() => encodeDataHeader(1, 0, 0x1000000), RangeError);
});
