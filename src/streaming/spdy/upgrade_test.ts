import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { memoryDuplexPair, readAll } from "../../../tests/harness/spdy_client.ts";
import { REMOTE_COMMAND_PROTOCOLS } from "./exit_status.ts";
import { encodeFrame, Flag } from "./frames.ts";
import { encodeHeaderBlock, spdyHeaders } from "./header_block.ts";
import { HeaderCompressor } from "./header_compression.ts";
import { PORT_FORWARD_PROTOCOLS } from "./port_forward.ts";
import { acceptSpdy } from "./upgrade.ts";

// node:http hands 'upgrade' a request and its socket; here the request is its raw headers and the socket one end of
// an in-memory pair (no socket is opened). tests/streaming_spdy_test.ts upgrades real HTTP connections.

const request = (headers: Array<[string, string]>) => ({ rawHeaders: headers.flat() }) as unknown as IncomingMessage;
const upgradeHeaders: Array<[string, string]> = [["Connection", "Upgrade"], ["Upgrade", "SPDY/3.1"]];

async function readUntilEnd(socket: Duplex): Promise<string> {
  const chunks: Buffer[] = [];
  socket.on("data", (chunk: Buffer) => chunks.push(chunk));
  await new Promise((resolve) => socket.once("end", resolve));
  // As a client does once the server is done: close our side too.
  socket.end();
  return Buffer.concat(chunks).toString("latin1");
}

Deno.test("acceptSpdy() picks the client's first protocol we serve, from repeated and comma-separated headers", async () => {
  const [server, client] = memoryDuplexPair();
  const answer = readUntilEnd(client);
  const result = acceptSpdy(
    request([
      ...upgradeHeaders,
      ["X-Stream-Protocol-Version", "v5.channel.k8s.io, v2.channel.k8s.io"],
      ["x-stream-protocol-version", "v4.channel.k8s.io"],
    ]),
    server,
    new Uint8Array(0),
    { protocols: REMOTE_COMMAND_PROTOCOLS },
  );
  assert.ok(result.ok);
  assert.equal(result.protocol, "v2.channel.k8s.io");
  await result.session.close();
  assert.equal(
    (await answer).slice(0, (await answer).indexOf("\r\n\r\n") + 4),
    "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n" +
      "X-Stream-Protocol-Version: v2.channel.k8s.io\r\n\r\n",
  );
});

Deno.test("acceptSpdy() feeds the bytes that came with the request to the session, in order", async () => {
  const [server, client] = memoryDuplexPair();
  const answer = readUntilEnd(client);
  const compressor = new HeaderCompressor();
  const headerBlock = await compressor.compress(
    encodeHeaderBlock(spdyHeaders([["streamtype", "data"], ["port", "80"]])),
  );
  compressor.close();
  const ping = encodeFrame({ type: "ping", id: 5 });
  const head = Buffer.concat([
    encodeFrame({
      type: "syn_stream",
      flags: 0,
      streamId: 1,
      associatedStreamId: 0,
      priority: 0,
      slot: 0,
      headerBlock,
    }),
    encodeFrame({ type: "data", streamId: 1, flags: Flag.FIN, data: new TextEncoder().encode("early") }),
    ping,
  ]);
  const result = acceptSpdy(
    request([...upgradeHeaders, ["X-Stream-Protocol-Version", "portforward.k8s.io"]]),
    server,
    head,
    { protocols: PORT_FORWARD_PROTOCOLS },
  );
  assert.ok(result.ok);
  const stream = (await result.session.streams.next()).value!;
  assert.equal(stream.header("port"), "80");
  assert.equal(new TextDecoder().decode(await readAll(stream)), "early");
  stream.accept();
  await stream.end();
  await result.session.close();
  // The PING echo follows the 101.
  assert.ok(Buffer.from(await answer, "latin1").includes(Buffer.from(ping)));
});

Deno.test("acceptSpdy() answers 400 or 403 as kubelet, with a text body, and ends the connection", async () => {
  const cases: Array<[Array<[string, string]>, number, string]> = [
    [upgradeHeaders, 400, "unable to upgrade: X-Stream-Protocol-Version is required"],
    [
      [...upgradeHeaders, ["X-Stream-Protocol-Version", "v4.channel.k8s.io,channel.k8s.io"]],
      403,
      "unable to upgrade: unable to negotiate protocol: client supports [v4.channel.k8s.io channel.k8s.io], " +
      "server accepts [portforward.k8s.io]",
    ],
    [
      [["Connection", "Upgrade"], ["Upgrade", "websocket"], ["X-Stream-Protocol-Version", "portforward.k8s.io"]],
      400,
      "unable to upgrade: missing upgrade headers in request",
    ],
  ];
  for (const [headers, status, message] of cases) {
    const [server, client] = memoryDuplexPair();
    const answer = readUntilEnd(client);
    const result = acceptSpdy(request(headers), server, new Uint8Array(0), { protocols: PORT_FORWARD_PROTOCOLS });
    assert.deepEqual(result, { ok: false, status, message });
    const text = await answer;
    assert.ok(text.startsWith(`HTTP/1.1 ${status} `), text);
    assert.ok(text.includes("Content-Type: text/plain; charset=utf-8\r\n"));
    assert.ok(text.endsWith(`\r\n\r\n${message}\n`), text);
    assert.equal(text.includes("X-Accepted-Stream-Protocol-Versions: portforward.k8s.io\r\n"), status === 403);
    client.destroy();
  }
});
