/**
 * Our HTTP/2 pieces against real node:http2 (nghttp2) peers over unix sockets: the HPACK codec both ways, and the
 * rewriter between a client and a server. Here rather than beside the code because they open sockets; the unit tests
 * in src/grpc/ check the same code against RFC 7541's vectors without any.
 */
import assert from "node:assert/strict";
import http2 from "node:http2";
import net from "node:net";
import { ClientStreamRewriter } from "../src/grpc/h2_frames.ts";
import type { HeaderField } from "../src/grpc/hpack_codec.ts";
import { type EchoedRequest, field, hf, RawH2Client, seededRandom, startEchoServer } from "./harness/h2.ts";

/** A socket path as a Go client sends it for :authority. */
const SOCKET_PATH = "/var/run/cri-podman/cri.sock";

// Every octet a field value may hold: HTAB, space, visible ASCII and obs-text (RFC 9113 §8.2.1; node:http2 refuses
// the other control characters).
const VALUE_OCTETS = String.fromCharCode(
  9,
  ...Array.from({ length: 95 }, (_, i) => 0x20 + i),
  ...Array.from({ length: 128 }, (_, i) => 0x80 + i),
);

Deno.test("HpackEncoder and HpackDecoder interoperate with node:http2 (nghttp2) over many blocks", async (t) => {
  // The raw client encodes requests with our encoder and decodes responses with our decoder; the echo server's
  // node:http2 decodes and encodes with nghttp2, and reports what it decoded.
  const server = await startEchoServer();
  try {
    for (const headerTableSize of [4096, 256]) {
      await t.step(`client header table of ${headerTableSize} octets`, async () => {
        const random = seededRandom(headerTableSize);
        const client = await RawH2Client.connect(server.path, { headerTableSize });
        try {
          // Values mix common characters with any octet a field value may hold, no whitespace at either end. A low
          // share of rare octets keeps Huffman coding shorter, so that their long codes cross the wire too.
          const common = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.:/=+;,";
          const octet = (rare: number) =>
            random() >= rare
              ? common[Math.floor(random() * common.length)]!
              : VALUE_OCTETS[Math.floor(random() * VALUE_OCTETS.length)]!;
          const value = (max: number) => {
            const rare = [0, 0.03, 0.1, 0.5][Math.floor(random() * 4)]!;
            return `v${Array.from({ length: Math.floor(random() * max) }, () => octet(rare)).join("")}v`;
          };
          const values = Array.from({ length: 40 }, () => value(random() < 0.2 ? 300 : 30));
          for (let i = 0; i < 300; i++) {
            const names = new Set(
              Array.from({ length: 1 + Math.floor(random() * 8) }, () => Math.floor(random() * 25)),
            );
            const custom = [...names].map((n) => ({
              name: `x-h${n}`,
              value: random() < 0.3 ? value(20) : values[Math.floor(random() * values.length)]!,
              neverIndex: random() < 0.15,
            }));
            const fields = [
              hf(":method", "GET"),
              hf(":scheme", "http"),
              hf(":path", `/echo/${i % 13}`),
              hf(":authority", "localhost"),
              ...custom,
            ];
            const result = await client.request(fields);
            const echoed = JSON.parse(new TextDecoder().decode(result.data)) as EchoedRequest;
            const received = new Map(echoed.headers);
            for (const f of fields) {
              assert.equal(received.get(f.name), f.value, `request ${i}: ${f.name} at the server`);
            }
            assert.deepEqual(
              echoed.sensitive.toSorted(),
              custom.filter((f) => f.neverIndex).map((f) => f.name).toSorted(),
              `request ${i}: never-indexed at the server`,
            );
            assert.equal(field(result.headers, ":status"), "200");
            const copies = result.headers.filter((f) => f.name.startsWith("y-"));
            const expected = custom.map((f) => ({ ...f, name: `y-${f.name.slice(2)}` }));
            const byName = (a: HeaderField, b: HeaderField) => a.name.localeCompare(b.name);
            assert.deepEqual(copies.toSorted(byName), expected.toSorted(byName), `response ${i}: headers we decoded`);
          }
        } finally {
          await client.end();
        }
      });
    }
  } finally {
    await server.close();
  }
});

function echoRequest(client: http2.ClientHttp2Session, headers: http2.OutgoingHttpHeaders): Promise<EchoedRequest> {
  return new Promise((resolve, reject) => {
    const request = client.request(headers);
    let body = "";
    request.setEncoding("utf8");
    request.on("data", (chunk: string) => body += chunk);
    request.on("error", reject);
    request.on("end", () => resolve(JSON.parse(body)));
    // A stream the server reset, or a connection it ended, closes without "end": fail rather than hang.
    request.on("close", () => reject(new Error(`Stream closed before its end (code ${request.rstCode})`)));
    request.end();
  });
}

Deno.test("ClientStreamRewriter carries a node:http2 client's requests to a node:http2 server, HPACK tables in step", async () => {
  // nghttp2 encodes what the rewriter decodes, and decodes what it re-encodes, over 200 blocks with evictions.
  const server = await startEchoServer();
  const tapPath = `${server.path}.tap`;
  const rewriters: ClientStreamRewriter[] = [];
  const sockets: net.Socket[] = [];
  const tap = net.createServer((downstream) => {
    const rewriter = new ClientStreamRewriter();
    rewriters.push(rewriter);
    const upstream = net.connect(server.path);
    sockets.push(downstream, upstream);
    downstream.on("data", (chunk: Buffer) => upstream.write(rewriter.push(chunk)));
    upstream.on("data", (chunk: Buffer) => downstream.write(chunk));
    downstream.on("close", () => upstream.destroy());
    upstream.on("close", () => downstream.destroy());
    downstream.on("error", () => {});
    upstream.on("error", () => {});
  });
  await new Promise<void>((resolve) => tap.listen(tapPath, resolve));
  const client = http2.connect("http://localhost", { createConnection: () => net.connect(tapPath) });
  const sessionErrors: Error[] = [];
  client.on("error", (err: Error) => sessionErrors.push(err));
  try {
    for (let i = 0; i < 200; i++) {
      const authority = i % 3 === 0 ? "localhost:1234" : SOCKET_PATH;
      const sensitive = i % 10 === 0 ? ["x-token"] : [];
      const headers: http2.OutgoingHttpHeaders = {
        ":method": "POST",
        ":path": `/test.Echo/Echo${i % 7}`,
        ":authority": authority,
        "content-type": "application/grpc",
        "x-request-id": `req-${i}`,
        "x-pad": "p".repeat((i * 37) % 700),
        "x-token": `t${i % 4}`,
        [http2.sensitiveHeaders]: sensitive,
      };
      const echoed = await echoRequest(client, headers);
      const received = new Map(echoed.headers);
      assert.equal(received.get(":authority"), i % 3 === 0 ? authority : "localhost", `request ${i}`);
      for (const name of [":method", ":path", "content-type", "x-request-id", "x-pad", "x-token"]) {
        assert.equal(received.get(name), headers[name], `request ${i}: ${name}`);
      }
      assert.deepEqual(echoed.sensitive, sensitive, `request ${i}: never-indexed fields`);
    }
  } finally {
    client.destroy();
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => tap.close(() => resolve()));
    await server.close();
  }
  assert.deepEqual(sessionErrors, []);
  assert.equal(rewriters.length, 1);
  assert.equal(rewriters[0]!.stats.headerBlocks, 200);
  assert.equal(rewriters[0]!.stats.authoritiesRewritten, 133);
});
