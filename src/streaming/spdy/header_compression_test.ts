import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import zlib from "node:zlib";
import { SPDY_DICTIONARY } from "./dictionary.ts";
import { SpdyProtocolError } from "./errors.ts";
import { type ControlFrame, FrameParser } from "./frames.ts";
import { bytesOf, CLIENT_FRAMES, type GoVector, SERVER_FRAMES } from "./go_vectors_test_data.ts";
import { decodeHeaderBlock, encodeHeaderBlock, spdyHeaders } from "./header_block.ts";
import { HeaderCompressor, HeaderDecompressor } from "./header_compression.ts";

const blockOf = (vector: GoVector): Uint8Array => {
  const frame = new FrameParser().push(bytesOf(vector))[0] as ControlFrame;
  assert.ok("headerBlock" in frame);
  return frame.headerBlock;
};

// Inflates blocks in order with a fresh node:zlib context primed with the dictionary, as Go's zlib.NewReaderDict.
async function inflateFresh(blocks: Uint8Array[]): Promise<Uint8Array[]> {
  const inflate = zlib.createInflate({ dictionary: SPDY_DICTIONARY });
  const out: Uint8Array[] = [];
  try {
    for (const block of blocks) {
      out.push(
        await new Promise<Uint8Array>((resolve, reject) => {
          const chunks: Buffer[] = [];
          const onData = (chunk: Buffer) => chunks.push(chunk);
          inflate.on("data", onData);
          inflate.once("error", reject);
          inflate.write(block);
          inflate.flush(zlib.constants.Z_SYNC_FLUSH, () => {
            inflate.off("data", onData);
            inflate.off("error", reject);
            resolve(Buffer.concat(chunks));
          });
        }),
      );
    }
  } finally {
    inflate.close();
  }
  return out;
}

Deno.test("HeaderDecompressor inflates Go's header blocks in sequence, as one context", async () => {
  const decompressor = new HeaderDecompressor();
  try {
    const headers = [];
    for (
      const vector of [
        CLIENT_FRAMES.synStreamError,
        CLIENT_FRAMES.synStreamStdin,
        CLIENT_FRAMES.synStreamFinPriority,
        CLIENT_FRAMES.synStreamMultiValue,
        CLIENT_FRAMES.headersEmpty,
      ]
    ) {
      headers.push(decodeHeaderBlock(await decompressor.decompress(blockOf(vector))));
    }
    assert.deepEqual(headers, [
      spdyHeaders([["streamtype", "error"]]),
      spdyHeaders([["streamtype", "stdin"]]),
      spdyHeaders([["streamtype", "stdout"]]),
      spdyHeaders([["port", "8080"], ["port", "9090"]]),
      new Map(),
    ]);
  } finally {
    decompressor.close();
  }
  const server = new HeaderDecompressor();
  try {
    for (const vector of [SERVER_FRAMES.synReply1, SERVER_FRAMES.synReply3]) {
      assert.deepEqual(decodeHeaderBlock(await server.decompress(blockOf(vector))), new Map());
    }
  } finally {
    server.close();
  }
});

Deno.test("HeaderCompressor's blocks inflate with a fresh dictionary-primed zlib context, block by block", async () => {
  const compressor = new HeaderCompressor();
  const sets = [
    new Map(),
    spdyHeaders([["streamtype", "error"]]),
    spdyHeaders([["streamtype", "data"], ["port", "8080"], ["requestid", "0"]]),
    spdyHeaders([["streamtype", "data"], ["port", "8080"], ["requestid", "1"]]),
  ];
  try {
    const blocks = [];
    for (const headers of sets) blocks.push(await compressor.compress(encodeHeaderBlock(headers)));
    // A zlib stream (CMF 0x78); Deno 2.9.6 writes FLG 0xDA (no preset dictionary), Node 0xF9 + the dictionary ID.
    assert.equal(blocks[0]![0], 0x78);
    assert.ok([0xda, 0xf9].includes(blocks[0]![1]!), `FLG ${blocks[0]![1]}`);
    // Each block ends with a sync flush (an empty stored block), so it inflates whole on its own arrival.
    for (const block of blocks) assert.deepEqual([...block.subarray(-4)], [0, 0, 0xff, 0xff]);
    const inflated = await inflateFresh(blocks);
    assert.deepEqual(inflated.map(decodeHeaderBlock), sets);
    // And with our own decompressor.
    const decompressor = new HeaderDecompressor();
    try {
      for (const [i, block] of blocks.entries()) {
        assert.deepEqual(decodeHeaderBlock(await decompressor.decompress(block)), sets[i]);
      }
    } finally {
      decompressor.close();
    }
  } finally {
    compressor.close();
  }
});

Deno.test("HeaderDecompressor refuses a block that does not inflate, and is unusable after", async () => {
  const decompressor = new HeaderDecompressor();
  try {
    // spdystream's TestReadMalformedZlibHeader: a block whose zlib header is corrupt.
    const good = blockOf(CLIENT_FRAMES.synStreamError);
    const bad = Uint8Array.from(good);
    bad[0] = 0x17;
    await assert.rejects(
      async () => decodeHeaderBlock(await decompressor.decompress(bad)),
      (err: unknown) => err instanceof SpdyProtocolError && err.reason === "bad-header-block",
    );
    await assert.rejects(decompressor.decompress(good), SpdyProtocolError);
  } finally {
    decompressor.close();
  }
});

Deno.test("HeaderDecompressor gives what a truncated block inflates to, never hangs", async () => {
  const decompressor = new HeaderDecompressor();
  try {
    const block = blockOf(CLIENT_FRAMES.synStreamError);
    const partial = await decompressor.decompress(block.subarray(0, 10));
    assert.throws(() => decodeHeaderBlock(partial), SpdyProtocolError);
  } finally {
    decompressor.close();
  }
});

Deno.test("HeaderDecompressor refuses a block that inflates past its limit (a zlib bomb)", async () => {
  const compressor = new HeaderCompressor();
  const decompressor = new HeaderDecompressor(64 * 1024);
  try {
    const big = encodeHeaderBlock(spdyHeaders([["x", "a".repeat(1 << 20)]]));
    const compressed = await compressor.compress(big);
    assert.ok(compressed.length < 4096, `${compressed.length} octets`);
    await assert.rejects(
      decompressor.decompress(compressed),
      (err: unknown) => err instanceof SpdyProtocolError && /exceeds 65536/.test(err.message),
    );
  } finally {
    compressor.close();
    decompressor.close();
  }
});
