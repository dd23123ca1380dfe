import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import {
  CLIENT_PREFACE,
  ClientStreamRewriter,
  type ClientStreamRewriterOptions,
  decodeFrameHeader,
  encodeFrame,
  encodeFrameHeader,
  FrameFlag,
  frameHeaderBlock,
  FrameType,
  H2ProtocolError,
  isValidAuthority,
} from "./h2_frames.ts";
import { type HeaderField, HpackDecoder, HpackEncoder } from "./hpack_codec.ts";
import { type Frame, headersPayload, hf, splitFrames } from "../../tests/harness/h2.ts";

// Header blocks are built and read with our own HPACK codec here: hpack_codec_test.ts checks it against RFC 7541's
// examples, and tests/grpc_nghttp2_test.ts runs both against node:http2 (nghttp2) peers over sockets.

const SOCKET_PATH = "/var/run/cri-podman/cri.sock";
const requestFields = (authority: string, path = "/runtime.v1.RuntimeService/Version"): HeaderField[] => [
  hf(":method", "POST"),
  hf(":scheme", "http"),
  hf(":path", path),
  hf(":authority", authority),
  hf("content-type", "application/grpc"),
  hf("user-agent", "grpc-go/1.60.1"),
  hf("te", "trailers"),
];
const settings = () => encodeFrame(FrameType.SETTINGS, 0, 0, Uint8Array.of(0, 4, 0, 0x10, 0, 0));
const data = (streamId: number, payload: number[], flags = 0) =>
  encodeFrame(FrameType.DATA, flags, streamId, Uint8Array.from(payload));
const goaway = () => encodeFrame(FrameType.GOAWAY, 0, 0, Uint8Array.of(0, 0, 0, 7, 0, 0, 0, 0, 1, 2));
const priorityBytes = Uint8Array.of(0x80, 0, 0, 3, 200);

// Feeds `input` after the preface whole, then octet by octet, and checks both give the same octets.
function rewrite(
  frames: Uint8Array[],
  options?: ClientStreamRewriterOptions,
): { out: Uint8Array; rw: ClientStreamRewriter } {
  const input = Buffer.concat([CLIENT_PREFACE, ...frames]);
  const whole = new ClientStreamRewriter(options);
  const out = whole.push(input);
  const byteWise = new ClientStreamRewriter(options);
  const pieces: Uint8Array[] = [];
  for (let i = 0; i < input.length; i++) pieces.push(byteWise.push(input.subarray(i, i + 1)));
  assert.deepEqual(Buffer.concat(pieces), Buffer.from(out), "byte-by-byte output differs from whole-chunk output");
  assert.ok(whole.atFrameBoundary);
  assert.deepEqual(Buffer.from(out.subarray(0, CLIENT_PREFACE.length)), Buffer.from(CLIENT_PREFACE));
  return { out: out.subarray(CLIENT_PREFACE.length), rw: whole };
}

// Decodes the header blocks of an output stream with one continuous decoder, as the server does.
function headerBlocks(frames: Frame[], decoder = new HpackDecoder()): HeaderField[][] {
  const blocks: HeaderField[][] = [];
  let fragments: Uint8Array[] = [];
  for (const frame of frames) {
    if (frame.type !== FrameType.HEADERS && frame.type !== FrameType.CONTINUATION) continue;
    let payload = frame.payload;
    if (frame.type === FrameType.HEADERS) {
      assert.equal(frame.flags & FrameFlag.PADDED, 0, "output HEADERS must be unpadded");
      if (frame.flags & FrameFlag.PRIORITY) payload = payload.subarray(5);
    }
    fragments.push(payload);
    if (frame.flags & FrameFlag.END_HEADERS) {
      blocks.push(decoder.decode(Buffer.concat(fragments)));
      fragments = [];
    }
  }
  return blocks;
}

Deno.test("encodeFrameHeader() and decodeFrameHeader() round-trip, clearing the reserved bit", () => {
  const header = { length: 0x123456, type: FrameType.HEADERS, flags: 0x25, streamId: 0x7fffffff };
  assert.deepEqual(decodeFrameHeader(encodeFrameHeader(header)), header);
  const reserved = encodeFrameHeader({ length: 0, type: 0, flags: 0, streamId: 5 });
  reserved[5] = reserved[5]! | 0x80;
  assert.equal(decodeFrameHeader(reserved).streamId, 5);
});

Deno.test("isValidAuthority() accepts host[:port] forms and rejects paths and empty values", () => {
  const cases: Array<[string, boolean]> = [
    ["localhost", true],
    ["localhost:50051", true],
    ["[::1]:443", true],
    ["user@host", true],
    ["%2Fvar%2Frun%2Fx.sock", true],
    ["/var/run/cri-podman/cri.sock", false],
    ["unix:///run/x.sock", false],
    ["", false],
    ["host name", false],
    ["host\n", false],
  ];
  for (const [authority, valid] of cases) assert.equal(isValidAuthority(authority), valid, JSON.stringify(authority));
});

Deno.test("ClientStreamRewriter passes non-header frames through unchanged", () => {
  const frames = [
    settings(),
    encodeFrame(FrameType.WINDOW_UPDATE, 0, 0, Uint8Array.of(0, 1, 0, 0)),
    encodeFrame(FrameType.PING, 0, 0, new Uint8Array(8).fill(7)),
    encodeFrame(FrameType.SETTINGS, FrameFlag.ACK, 0, new Uint8Array(0)),
    data(1, [0, 0, 0, 0, 2, 9, 9], FrameFlag.END_STREAM),
    data(3, [], FrameFlag.END_STREAM),
    encodeFrame(FrameType.RST_STREAM, 0, 3, Uint8Array.of(0, 0, 0, 8)),
    encodeFrame(FrameType.PRIORITY, 0, 5, priorityBytes),
    encodeFrame(0xfa, 0x3, 0, Uint8Array.of(1, 2, 3)), // unknown frame types pass too (RFC 9113 §4.1)
  ];
  const { out, rw } = rewrite(frames);
  assert.deepEqual(Buffer.from(out), Buffer.concat(frames));
  assert.deepEqual(rw.stats, { headerBlocks: 0, authoritiesRewritten: 0, goawaysDropped: 0 });
});

Deno.test("ClientStreamRewriter returns the very chunk it was given when nothing changes", () => {
  const rw = new ClientStreamRewriter();
  rw.push(CLIENT_PREFACE);
  const chunk = Buffer.concat([settings(), data(1, [1, 2, 3])]);
  assert.equal(rw.push(chunk), chunk);
});

Deno.test("ClientStreamRewriter rewrites header blocks (table-driven)", () => {
  const cases: Array<{
    name: string;
    authority: string;
    expected: string;
    headers?: { padLength?: number; priority?: Uint8Array };
    endStream?: boolean;
  }> = [
    { name: "socket path", authority: SOCKET_PATH, expected: "localhost" },
    { name: "empty authority", authority: "", expected: "localhost" },
    { name: "valid authority kept", authority: "localhost:1234", expected: "localhost:1234" },
    { name: "padded HEADERS", authority: SOCKET_PATH, expected: "localhost", headers: { padLength: 17 } },
    { name: "zero padding", authority: SOCKET_PATH, expected: "localhost", headers: { padLength: 0 } },
    { name: "priority flag", authority: SOCKET_PATH, expected: "localhost", headers: { priority: priorityBytes } },
    {
      name: "padded with priority",
      authority: SOCKET_PATH,
      expected: "localhost",
      headers: { padLength: 3, priority: priorityBytes },
      endStream: true,
    },
  ];
  for (const c of cases) {
    const block = new HpackEncoder().encode(requestFields(c.authority));
    const { flags, payload } = headersPayload(block, c.headers);
    const endStream = c.endStream ? FrameFlag.END_STREAM : 0;
    const input = encodeFrame(FrameType.HEADERS, flags | FrameFlag.END_HEADERS | endStream, 1, payload);
    const { out, rw } = rewrite([settings(), input, data(1, [0, 0, 0, 0, 0], FrameFlag.END_STREAM)]);
    const frames = splitFrames(out);
    assert.deepEqual(frames.map((f) => f.type), [FrameType.SETTINGS, FrameType.HEADERS, FrameType.DATA], c.name);
    const headers = frames[1]!;
    const expectedFlags = FrameFlag.END_HEADERS | endStream | (c.headers?.priority ? FrameFlag.PRIORITY : 0);
    assert.equal(headers.flags, expectedFlags, c.name);
    assert.equal(headers.streamId, 1);
    if (c.headers?.priority) assert.deepEqual(headers.payload.slice(0, 5), Buffer.from(c.headers.priority), c.name);
    assert.deepEqual(headerBlocks(frames), [requestFields(c.expected)], c.name);
    assert.equal(rw.stats.authoritiesRewritten, c.expected === c.authority ? 0 : 1, c.name);
  }
});

Deno.test("ClientStreamRewriter joins HEADERS and CONTINUATION frames into one rewritten block", () => {
  const block = new HpackEncoder().encode(requestFields(SOCKET_PATH));
  const a = block.subarray(0, 5);
  const b = block.subarray(5, 5); // an empty fragment is legal
  const c = block.subarray(5, 20);
  const d = block.subarray(20);
  const { flags, payload } = headersPayload(a, { padLength: 2, priority: priorityBytes });
  const frames = [
    encodeFrame(FrameType.HEADERS, flags | FrameFlag.END_STREAM, 3, payload),
    encodeFrame(FrameType.CONTINUATION, 0, 3, b),
    encodeFrame(FrameType.CONTINUATION, 0, 3, c),
    encodeFrame(FrameType.CONTINUATION, FrameFlag.END_HEADERS, 3, d),
  ];
  const out = splitFrames(rewrite(frames).out);
  assert.equal(out.length, 1);
  assert.equal(out[0]!.type, FrameType.HEADERS);
  assert.equal(out[0]!.flags, FrameFlag.END_HEADERS | FrameFlag.END_STREAM | FrameFlag.PRIORITY);
  assert.deepEqual(headerBlocks(out), [requestFields("localhost")]);
});

Deno.test("ClientStreamRewriter drops GOAWAY frames and keeps the frames around them", () => {
  const before = data(1, [1, 2, 3]);
  const after = data(1, [4], FrameFlag.END_STREAM);
  const empty = encodeFrame(FrameType.GOAWAY, 0, 0, new Uint8Array(0));
  const { out, rw } = rewrite([before, goaway(), empty, after, goaway()]);
  assert.deepEqual(Buffer.from(out), Buffer.concat([before, after]));
  assert.equal(rw.stats.goawaysDropped, 3);
});

Deno.test("ClientStreamRewriter keeps the server's HPACK table in step over many blocks", () => {
  const encoder = new HpackEncoder();
  const frames: Uint8Array[] = [];
  const expected: HeaderField[][] = [];
  for (let i = 0; i < 200; i++) {
    const authority = i % 3 === 0 ? "localhost" : SOCKET_PATH;
    const fields = [
      ...requestFields(authority, `/test.Echo/Echo${i % 7}`),
      hf("x-request-id", `req-${i}`),
      hf("grpc-timeout", `${i}m`),
    ];
    frames.push(encodeFrame(FrameType.HEADERS, FrameFlag.END_HEADERS, 2 * i + 1, encoder.encode(fields)));
    frames.push(data(2 * i + 1, [0, 0, 0, 0, 0], FrameFlag.END_STREAM));
    if (i % 50 === 49) frames.push(goaway());
    expected.push(fields.map((f) => f.name === ":authority" ? { ...f, value: "localhost" } : f));
  }
  const { out, rw } = rewrite(frames);
  assert.deepEqual(headerBlocks(splitFrames(out)), expected);
  assert.equal(rw.stats.headerBlocks, 200);
  assert.equal(rw.stats.authoritiesRewritten, 133);
  assert.equal(rw.stats.goawaysDropped, 4);
});

Deno.test("ClientStreamRewriter keeps never-indexed fields never indexed", () => {
  const fields = [...requestFields(SOCKET_PATH), { name: "authorization", value: "Bearer x", neverIndex: true }];
  const { out } = rewrite([
    encodeFrame(FrameType.HEADERS, FrameFlag.END_HEADERS, 1, new HpackEncoder().encode(fields)),
  ]);
  const frame = splitFrames(out)[0]!;
  const decoded = new HpackDecoder().decode(frame.payload);
  assert.equal(decoded.find((f) => f.name === "authorization")?.neverIndex, true);
});

Deno.test("ClientStreamRewriter splits a block larger than the frame size into HEADERS and CONTINUATION", () => {
  const big = hf("x-big", "~".repeat(60_000)); // '~' has a 13-bit Huffman code, so it goes raw: 60,000 octets
  const fields = [...requestFields(SOCKET_PATH), big];
  const block = new HpackEncoder().encode(fields);
  const frames = frameHeaderBlock(1, FrameFlag.PRIORITY, priorityBytes, block); // as a client would frame it
  assert.equal(frames.length, 4);
  const out = splitFrames(rewrite(frames).out);
  assert.equal(out.length, 4);
  assert.deepEqual(out.map((f) => f.type), [FrameType.HEADERS, ...out.slice(1).map(() => FrameType.CONTINUATION)]);
  for (const frame of out) assert.ok(frame.length <= 16384, `frame of ${frame.length} octets`);
  assert.equal(out[0]!.flags, FrameFlag.PRIORITY);
  assert.equal(out.at(-1)!.flags, FrameFlag.END_HEADERS);
  assert.deepEqual(headerBlocks(out), [fields.map((f) => f.name === ":authority" ? { ...f, value: "localhost" } : f)]);
});

Deno.test("frameHeaderBlock() honours a smaller max frame size, priority octets counting toward the first frame", () => {
  const block = new Uint8Array(25).fill(1);
  const frames = frameHeaderBlock(7, FrameFlag.END_STREAM | FrameFlag.PRIORITY, priorityBytes, block, 10);
  assert.deepEqual(frames.map((f) => decodeFrameHeader(f)), [
    { length: 10, type: FrameType.HEADERS, flags: FrameFlag.END_STREAM | FrameFlag.PRIORITY, streamId: 7 },
    { length: 10, type: FrameType.CONTINUATION, flags: 0, streamId: 7 },
    { length: 10, type: FrameType.CONTINUATION, flags: FrameFlag.END_HEADERS, streamId: 7 },
  ]);
  const single = frameHeaderBlock(1, 0, undefined, new Uint8Array(0));
  assert.deepEqual(decodeFrameHeader(single[0]!), {
    length: 0,
    type: FrameType.HEADERS,
    flags: FrameFlag.END_HEADERS,
    streamId: 1,
  });
});

Deno.test("ClientStreamRewriter rejects input it cannot carry (table-driven)", () => {
  const block = new HpackEncoder().encode(requestFields(SOCKET_PATH));
  const cases: Array<[string, Uint8Array]> = [
    ["not a preface", new TextEncoder().encode("GET / HTTP/1.1\r\nHost: x\r\n\r\n")],
    ["TLS hello", Uint8Array.of(0x16, 0x03, 0x01, 0x02, 0x00)],
    ["CONTINUATION alone", Buffer.concat([CLIENT_PREFACE, encodeFrame(FrameType.CONTINUATION, 4, 1, block)])],
    [
      "DATA inside a header block",
      Buffer.concat([CLIENT_PREFACE, encodeFrame(FrameType.HEADERS, 0, 1, block), data(1, [1])]),
    ],
    [
      "CONTINUATION of another stream",
      Buffer.concat([
        CLIENT_PREFACE,
        encodeFrame(FrameType.HEADERS, 0, 1, block.subarray(0, 4)),
        encodeFrame(FrameType.CONTINUATION, 4, 3, block.subarray(4)),
      ]),
    ],
    ["padding too long", Buffer.concat([CLIENT_PREFACE, encodeFrame(FrameType.HEADERS, 0x0c, 1, Uint8Array.of(9, 1))])],
    ["priority too short", Buffer.concat([CLIENT_PREFACE, encodeFrame(FrameType.HEADERS, 0x24, 1, Uint8Array.of(1))])],
    ["PUSH_PROMISE", Buffer.concat([CLIENT_PREFACE, encodeFrame(FrameType.PUSH_PROMISE, 4, 1, new Uint8Array(4))])],
    [
      "bad HPACK index",
      Buffer.concat([CLIENT_PREFACE, encodeFrame(FrameType.HEADERS, 4, 1, Uint8Array.of(0xff, 0x7f))]),
    ],
  ];
  for (const [name, input] of cases) {
    const rw = new ClientStreamRewriter();
    assert.throws(() => rw.push(input), H2ProtocolError, name);
    assert.throws(() => rw.push(data(1, [])), H2ProtocolError, `${name}: stays failed`);
  }
});

Deno.test("ClientStreamRewriter refuses header blocks over maxHeaderBlockSize", () => {
  const rw = new ClientStreamRewriter({ maxHeaderBlockSize: 100 });
  const frames = Buffer.concat([
    CLIENT_PREFACE,
    encodeFrame(FrameType.HEADERS, 0, 1, new Uint8Array(60)),
    encodeFrame(FrameType.CONTINUATION, 4, 1, new Uint8Array(60)),
  ]);
  assert.throws(() => rw.push(frames), /larger than 100 octets/);
});

Deno.test("ClientStreamRewriter replaces the authority with the configured one", () => {
  const block = new HpackEncoder().encode(requestFields(SOCKET_PATH));
  const { out } = rewrite([encodeFrame(FrameType.HEADERS, FrameFlag.END_HEADERS, 1, block)], {
    authority: "cri-podman",
  });
  assert.deepEqual(headerBlocks(splitFrames(out)), [requestFields("cri-podman")]);
});

// One request through a node:http2 client session; resolves with the echo server's report.
