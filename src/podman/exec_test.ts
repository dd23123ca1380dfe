/**
 * The pure parts of the exec stream: Docker's frame demultiplexer and the capped output sink. PodmanExec itself,
 * against a real rootless Podman, is tests/podman_exec_test.ts.
 */
import assert from "node:assert/strict";
import { FrameDemuxer, OutputSink } from "./exec.ts";

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

/** Builds one Docker attach frame. */
function frame(stream: number, payload: string): Uint8Array {
  const body = new TextEncoder().encode(payload);
  const out = new Uint8Array(8 + body.length);
  out[0] = stream;
  new DataView(out.buffer).setUint32(4, body.length);
  out.set(body, 8);
  return out;
}

Deno.test("FrameDemuxer", async (t) => {
  const stream = new Uint8Array([...frame(1, "hello "), ...frame(2, "oops"), ...frame(1, ""), ...frame(1, "world")]);
  await t.step("FrameDemuxer.push() splits frames by stream type however the bytes are cut", () => {
    for (let cut = 1; cut <= stream.length; cut++) {
      const got: Record<number, string> = { 1: "", 2: "" };
      const demux = new FrameDemuxer((s, chunk) => (got[s] += text(chunk)));
      for (let i = 0; i < stream.length; i += cut) demux.push(stream.subarray(i, i + cut));
      assert.deepEqual(got, { 1: "hello world", 2: "oops" }, `cut every ${cut} bytes`);
      assert.equal(demux.incomplete, false);
    }
  });
  await t.step("FrameDemuxer.incomplete is true when the stream stops inside a frame", () => {
    const demux = new FrameDemuxer(() => {});
    demux.push(frame(1, "abc").subarray(0, 9));
    assert.equal(demux.incomplete, true);
  });
  await t.step("FrameDemuxer reads lengths above 2^31 as unsigned", () => {
    let seen = 0;
    const demux = new FrameDemuxer((_s, chunk) => (seen += chunk.length));
    demux.push(new Uint8Array([1, 0, 0, 0, 0x80, 0, 0, 0, 7, 7]));
    assert.equal(seen, 2);
    assert.equal(demux.incomplete, true);
  });
});

Deno.test("OutputSink keeps the first cap bytes and flags the rest as truncated", () => {
  const sink = new OutputSink(5);
  sink.push(new TextEncoder().encode("abc"));
  assert.equal(sink.truncated, false);
  sink.push(new TextEncoder().encode("defg"));
  sink.push(new TextEncoder().encode("h"));
  assert.equal(text(sink.bytes()), "abcde");
  assert.equal(sink.truncated, true);
});
