import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import type { Duplex } from "node:stream";
import { memoryDuplexPair, readAll, withSpdyPair } from "../../../tests/harness/spdy_client.ts";
import { SpdyClosedError, SpdyProtocolError } from "./errors.ts";
import {
  type ControlFrame,
  encodeControlHeader,
  encodeFrame,
  Flag,
  FrameParser,
  GoAwayStatus,
  RstStatus,
  SettingsId,
  type SpdyFrame,
} from "./frames.ts";
import { decodeHeaderBlock, encodeHeaderBlock, type SpdyHeaders, spdyHeaders } from "./header_block.ts";
import { HeaderCompressor, HeaderDecompressor } from "./header_compression.ts";
import { SpdySession, type SpdySessionOptions } from "./session.ts";

// The session is exercised over an in-memory duplex pair with TCP-like back-pressure: no socket is opened here.
// tests/streaming_spdy_test.ts runs it over real sockets.

const MiB = 1024 * 1024;

/** A peer that speaks raw frames to a session, to check what goes on the wire. */
class RawPeer {
  readonly socket: Duplex;
  readonly #parser = new FrameParser();
  readonly #compressor = new HeaderCompressor();
  readonly #decompressor = new HeaderDecompressor();
  readonly #frames: Array<SpdyFrame | { type: "headers-decoded"; frame: ControlFrame; headers: SpdyHeaders }> = [];
  #waiter: (() => void) | undefined;
  ended = false;

  constructor(socket: Duplex) {
    this.socket = socket;
    socket.on("data", (chunk: Uint8Array) => {
      for (const frame of this.#parser.push(chunk)) {
        if (frame.type === "unknown") continue;
        if (frame.type === "data") {
          this.#frames.push({
            type: "data",
            streamId: frame.streamId,
            flags: frame.flags,
            data: Uint8Array.from(frame.data),
          });
        } else this.#frames.push(frame);
      }
      this.#waiter?.();
    });
    socket.on("end", () => {
      this.ended = true;
      this.#waiter?.();
    });
  }

  /** The next frame from the session (header blocks inflated in order). */
  async next(): Promise<SpdyFrame> {
    while (this.#frames.length === 0) {
      if (this.ended) throw new Error("the session ended its side");
      await new Promise<void>((resolve) => this.#waiter = resolve);
    }
    return this.#frames.shift() as SpdyFrame;
  }

  /** The next frame, with its header block inflated. */
  async nextWithHeaders(): Promise<{ frame: SpdyFrame; headers: SpdyHeaders | undefined }> {
    const frame = await this.next();
    if (!("headerBlock" in frame)) return { frame, headers: undefined };
    return { frame, headers: decodeHeaderBlock(await this.#decompressor.decompress(frame.headerBlock)) };
  }

  /** Waits until the session ended its side, returning the frames it sent before. */
  async untilEnd(): Promise<SpdyFrame[]> {
    while (!this.ended) await new Promise<void>((resolve) => this.#waiter = resolve);
    return this.#frames.splice(0) as SpdyFrame[];
  }

  send(frame: SpdyFrame): void {
    this.socket.write(encodeFrame(frame));
  }

  async synStream(streamId: number, headers: SpdyHeaders, flags = 0): Promise<void> {
    const headerBlock = await this.#compressor.compress(encodeHeaderBlock(headers));
    this.send({ type: "syn_stream", flags, streamId, associatedStreamId: 0, priority: 0, slot: 0, headerBlock });
  }

  close(): void {
    this.#compressor.close();
    this.#decompressor.close();
    this.socket.destroy();
  }
}

async function withRawPeer(
  fn: (server: SpdySession, peer: RawPeer) => Promise<void>,
  options: SpdySessionOptions = {},
): Promise<void> {
  const [a, b] = memoryDuplexPair();
  const server = new SpdySession(a, options);
  const peer = new RawPeer(b);
  try {
    await fn(server, peer);
  } finally {
    server.destroy();
    peer.close();
  }
}

const streamHeaders = (type: string) => spdyHeaders([["streamtype", type]]);
const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

Deno.test("SpdySession hands out a client's stream unreplied, then answers SYN_REPLY with empty headers", async () => {
  await withRawPeer(async (server, peer) => {
    await peer.synStream(1, streamHeaders("stdin"));
    const stream = (await server.streams.next()).value!;
    assert.equal(stream.id, 1);
    assert.equal(stream.header("StreamType"), "stdin");
    stream.accept();
    stream.accept(); // idempotent
    const reply = await peer.nextWithHeaders();
    assert.deepEqual(reply.frame.type, "syn_reply");
    assert.ok(reply.frame.type === "syn_reply");
    assert.equal(reply.frame.streamId, 1);
    assert.equal(reply.frame.flags, 0);
    assert.deepEqual(reply.headers, new Map());
    // Data from the peer, then FIN; data from us, then FIN: the stream is over both ways.
    peer.send({ type: "data", streamId: 1, flags: 0, data: new TextEncoder().encode("in") });
    peer.send({ type: "data", streamId: 1, flags: Flag.FIN, data: new Uint8Array(0) });
    assert.equal(text(await readAll(stream)), "in");
    assert.equal(stream.closed.aborted, false);
    await stream.write(new TextEncoder().encode("out"));
    await stream.end();
    assert.deepEqual(await peer.next(), { type: "data", streamId: 1, flags: 0, data: new TextEncoder().encode("out") });
    assert.deepEqual(await peer.next(), { type: "data", streamId: 1, flags: Flag.FIN, data: new Uint8Array(0) });
    assert.equal(stream.closed.aborted, true);
    assert.equal(server.openStreams, 0);
  });
});

Deno.test("SpdySession writes a stream's data only after its SYN_REPLY", async () => {
  await withRawPeer(async (server, peer) => {
    await peer.synStream(1, streamHeaders("stdout"));
    const stream = (await server.streams.next()).value!;
    // Writing first accepts the stream; the reply still goes out before the data.
    await Promise.all([stream.write(Uint8Array.of(1)), stream.end()]);
    assert.equal((await peer.next()).type, "syn_reply");
    assert.deepEqual(await peer.next(), { type: "data", streamId: 1, flags: 0, data: Uint8Array.of(1) });
    assert.deepEqual(await peer.next(), { type: "data", streamId: 1, flags: Flag.FIN, data: new Uint8Array(0) });
  });
});

Deno.test("SpdySession echoes the client's PINGs and ignores SETTINGS and WINDOW_UPDATE, as spdystream", async () => {
  await withRawPeer(async (server, peer) => {
    peer.send({
      type: "settings",
      flags: 0,
      entries: [{ flags: 0, id: SettingsId.INITIAL_WINDOW_SIZE, value: 1024 }],
    });
    peer.send({ type: "window_update", streamId: 0, delta: 1 });
    peer.send({ type: "ping", id: 2 }); // our parity, not ours: ignored
    peer.send({ type: "ping", id: 7 });
    assert.deepEqual(await peer.next(), { type: "ping", id: 7 }, "the ping answered, nothing before it");
    assert.equal(server.closed.aborted, false, "SETTINGS and WINDOW_UPDATE did not end the session");
  });
});

Deno.test("SpdySession pings with even IDs and measures the round trip", async () => {
  await withRawPeer(async (server, peer) => {
    const rtt = server.ping();
    const ping = await peer.next();
    assert.deepEqual(ping, { type: "ping", id: 2 });
    peer.send(ping);
    assert.ok((await rtt) >= 0);
  });
});

Deno.test("SpdySession resets streams whose IDs are even or do not increase, and refuses past the limit", async () => {
  await withRawPeer(async (server, peer) => {
    await peer.synStream(2, streamHeaders("x"));
    assert.deepEqual(await peer.next(), { type: "rst_stream", streamId: 2, status: RstStatus.PROTOCOL_ERROR });
    await peer.synStream(5, streamHeaders("a"));
    await peer.synStream(3, streamHeaders("b"));
    assert.deepEqual(await peer.next(), { type: "rst_stream", streamId: 3, status: RstStatus.PROTOCOL_ERROR });
    await peer.synStream(7, streamHeaders("c"));
    await peer.synStream(9, streamHeaders("d"));
    assert.deepEqual(await peer.next(), { type: "rst_stream", streamId: 9, status: RstStatus.REFUSED_STREAM });
    assert.equal((await server.streams.next()).value?.header("streamtype"), "a");
    assert.equal((await server.streams.next()).value?.header("streamtype"), "c");
  }, { maxConcurrentStreams: 2 });
});

Deno.test("SpdySession ends a stream the client resets: its reader sees the end, writes are dropped", async () => {
  await withRawPeer(async (server, peer) => {
    await peer.synStream(1, streamHeaders("data"));
    const stream = (await server.streams.next()).value!;
    stream.accept();
    assert.equal((await peer.next()).type, "syn_reply");
    peer.send({ type: "data", streamId: 1, flags: 0, data: Uint8Array.of(9) });
    peer.send({ type: "rst_stream", streamId: 1, status: RstStatus.CANCEL });
    assert.deepEqual([...await readAll(stream)], [9]);
    assert.ok(stream.closed.aborted);
    assert.ok(stream.closed.reason instanceof SpdyClosedError);
    await stream.write(Uint8Array.of(1, 2, 3));
    await stream.end();
    // Data for the reset stream, and for a stream never opened, is ignored; the session goes on.
    peer.send({ type: "data", streamId: 1, flags: 0, data: Uint8Array.of(1) });
    peer.send({ type: "data", streamId: 99, flags: 0, data: Uint8Array.of(1) });
    peer.send({ type: "ping", id: 1 });
    assert.deepEqual(await peer.next(), { type: "ping", id: 1 });
  });
});

Deno.test("SpdySession resets a stream on request with CANCEL", async () => {
  await withRawPeer(async (server, peer) => {
    await peer.synStream(1, streamHeaders("data"));
    const stream = (await server.streams.next()).value!;
    stream.reset();
    assert.deepEqual(await peer.next(), { type: "rst_stream", streamId: 1, status: RstStatus.CANCEL });
    assert.ok(stream.closed.aborted);
  });
});

Deno.test("SpdySession answers the client's GOAWAY with its own and ends once no stream is open", async () => {
  await withRawPeer(async (server, peer) => {
    await peer.synStream(1, streamHeaders("data"));
    const stream = (await server.streams.next()).value!;
    stream.accept();
    peer.send({ type: "goaway", lastGoodStreamId: 0, status: GoAwayStatus.OK });
    assert.equal((await peer.next()).type, "syn_reply");
    // A stream opened after GOAWAY is refused.
    await peer.synStream(3, streamHeaders("late"));
    assert.deepEqual(await peer.next(), { type: "rst_stream", streamId: 3, status: RstStatus.REFUSED_STREAM });
    assert.equal(server.closed.aborted, false);
    peer.send({ type: "data", streamId: 1, flags: Flag.FIN, data: new Uint8Array(0) });
    await stream.end();
    const rest = await peer.untilEnd();
    assert.deepEqual(rest, [
      { type: "data", streamId: 1, flags: Flag.FIN, data: new Uint8Array(0) },
      { type: "goaway", lastGoodStreamId: 3, status: GoAwayStatus.OK },
    ]);
    assert.ok(server.closed.aborted);
  });
});

Deno.test("SpdySession answers malformed input with GOAWAY(PROTOCOL_ERROR) and ends", async () => {
  const inputs: Array<[string, (peer: RawPeer) => void | Promise<void>]> = [
    ["a SPDY/2 frame", (peer) => peer.socket.write(Uint8Array.of(0x80, 2, 0, 6, 0, 0, 0, 4, 0, 0, 0, 1))],
    ["an over-large control frame", (peer) => peer.socket.write(encodeControlHeader(8, 0, 0xffffff))],
    ["a header block that does not inflate", (peer) => {
      peer.send({
        type: "syn_stream",
        flags: 0,
        streamId: 1,
        associatedStreamId: 0,
        priority: 0,
        slot: 0,
        headerBlock: Uint8Array.of(1, 2, 3, 4, 5, 6),
      });
    }],
  ];
  for (const [what, send] of inputs) {
    await withRawPeer(async (server, peer) => {
      await send(peer);
      const frames = await peer.untilEnd();
      assert.deepEqual(frames, [{ type: "goaway", lastGoodStreamId: 0, status: GoAwayStatus.PROTOCOL_ERROR }], what);
      assert.ok(server.closed.aborted);
      assert.ok(server.closed.reason instanceof SpdyProtocolError, what);
    });
  }
});

Deno.test("SpdySession ends every stream when the client goes away", async () => {
  await withSpdyPair(async (server, client) => {
    const opened = client.openStream(streamHeaders("stdin"));
    const stream = (await server.streams.next()).value!;
    stream.accept();
    await opened;
    const read = readAll(stream);
    client.destroy();
    assert.equal((await read).length, 0);
    assert.ok(server.closed.aborted);
    assert.ok(stream.closed.aborted);
    assert.equal((await server.streams.next()).done, true);
  });
});

Deno.test("SpdySession.openStream() rejects when the peer resets the stream instead of replying", async () => {
  await withSpdyPair(async (server, client) => {
    const opened = client.openStream(streamHeaders("bogus"));
    (await server.streams.next()).value!.reset(RstStatus.REFUSED_STREAM);
    await assert.rejects(opened, /reset by the peer \(status 3\)/);
  });
});

Deno.test("SpdySession stops reading while a consumer lags, and the writer waits: nothing buffers without bound", async () => {
  const highWaterMark = 256 * 1024;
  await withSpdyPair(async (server, client) => {
    const opened = client.openStream(streamHeaders("stdin"));
    const stream = (await server.streams.next()).value!;
    stream.accept();
    const upload = await opened;
    const block = Buffer.alloc(64 * 1024, 1);
    let written = 0;
    const writer = (async () => {
      for (let i = 0; i < 256; i++) {
        await upload.write(block);
        written += block.length;
      }
      await upload.end();
    })();
    // Nobody reads on the server: the writer must stall after the buffers fill.
    await new Promise((resolve) => setTimeout(resolve, 100));
    const stalledAt = written;
    assert.ok(stalledAt < 4 * MiB, `the writer went on to ${stalledAt} octets`);
    assert.ok(server.readingPaused);
    assert.ok(stream.buffered <= highWaterMark + 256 * 1024, `${stream.buffered} octets buffered`);
    // Reading slowly lets it through, never buffering more than the mark plus one frame's worth.
    let received = 0;
    let peak = 0;
    for await (const chunk of stream) {
      received += chunk.length;
      peak = Math.max(peak, stream.buffered);
      if (received % MiB < chunk.length) await new Promise((resolve) => setTimeout(resolve, 1));
    }
    await writer;
    assert.equal(received, 256 * block.length);
    assert.ok(peak <= highWaterMark + 256 * 1024, `peak ${peak}`);
  }, { streamHighWaterMark: highWaterMark });
});

Deno.test("SpdySession writes resolve only as the reader drains: a slow client holds the writer back", async () => {
  await withSpdyPair(async (server, client) => {
    const opened = client.openStream(streamHeaders("stdout"));
    const stream = (await server.streams.next()).value!;
    stream.accept();
    const download = await opened;
    let written = 0;
    const block = Buffer.alloc(MiB, 2);
    const writer = (async () => {
      for (let i = 0; i < 64; i++) {
        await stream.write(block);
        written += block.length;
      }
      await stream.end();
    })();
    await new Promise((resolve) => setTimeout(resolve, 100));
    // The client reads nothing yet: its session stops reading at the mark, the pair fills, our writes wait.
    assert.ok(written <= 4 * MiB, `${written} octets written without a reader`);
    let received = 0;
    for await (const chunk of download) received += chunk.length;
    await writer;
    assert.equal(received, 64 * MiB);
  });
});

Deno.test("SpdySession carries 64 MiB each way at once on one stream", async () => {
  await withSpdyPair(async (server, client) => {
    const opened = client.openStream(streamHeaders("data"));
    const stream = (await server.streams.next()).value!;
    stream.accept();
    const data = await opened;
    const echo = (async () => {
      for await (const chunk of stream) await stream.write(chunk);
      await stream.end();
    })();
    const block = Buffer.alloc(128 * 1024, 3);
    const writer = (async () => {
      for (let i = 0; i < 512; i++) await data.write(block);
      await data.end();
    })();
    let received = 0;
    for await (const chunk of data) received += chunk.length;
    await Promise.all([echo, writer]);
    assert.equal(received, 64 * MiB);
    assert.ok(stream.closed.aborted && data.closed.aborted);
  });
});

Deno.test("SpdySession.close() sends GOAWAY naming the last stream, then FIN, and ends open streams", async () => {
  await withRawPeer(async (server, peer) => {
    await peer.synStream(1, streamHeaders("a"));
    const stream = (await server.streams.next()).value!;
    stream.accept();
    const closing = server.close();
    assert.ok(stream.closed.aborted);
    const frames = await peer.untilEnd();
    assert.deepEqual(frames.map((f) => f.type), ["syn_reply", "goaway"]);
    assert.deepEqual(frames[1], { type: "goaway", lastGoodStreamId: 1, status: GoAwayStatus.OK });
    peer.socket.end();
    await closing;
  });
});

Deno.test("SpdySession ends after the idle timeout, and a frame puts the deadline back", async () => {
  await withRawPeer(async (server, peer) => {
    await new Promise((r) => setTimeout(r, 200));
    peer.send({ type: "ping", id: 7 });
    // 500 ms in: past the first deadline (400), before the one the PING set (600).
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(server.closed.aborted, false, "the PING at 200 ms kept the session open");
    const frames = await peer.untilEnd();
    assert.deepEqual(frames, [
      { type: "ping", id: 7 },
      { type: "goaway", lastGoodStreamId: 0, status: GoAwayStatus.OK },
    ]);
    assert.match(String(server.closed.reason), /idle for 400 ms/);
  }, { idleTimeoutMs: 400 });
});
