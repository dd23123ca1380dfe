import assert from "node:assert/strict";
import { memoryDuplexPair, openForward, readAll, withSpdyPair } from "../../../tests/harness/spdy_client.ts";
import type { ForwardedConnection } from "../session.ts";
import { spdyHeaders } from "./header_block.ts";
import { portForwardOverSpdy } from "./port_forward.ts";
import { SpdySession } from "./session.ts";

// Over an in-memory duplex pair (no socket); tests/streaming_spdy_test.ts covers the same over TCP.

async function withPair(
  fn: (
    server: SpdySession,
    client: SpdySession,
    connections: AsyncIterator<ForwardedConnection>,
    rejected: string[],
  ) => Promise<void>,
  streamTimeoutMs = 30_000,
): Promise<void> {
  await withSpdyPair(async (server, client) => {
    const rejected: string[] = [];
    const pf = portForwardOverSpdy(server, [80, 443], {
      streamTimeoutMs,
      onStreamRejected: (reason) => rejected.push(reason),
    });
    assert.deepEqual(pf.ports, [80, 443]);
    try {
      await fn(server, client, pf.connections[Symbol.asyncIterator](), rejected);
    } finally {
      await pf.close();
    }
  });
}

const headers = (type: string, port: string, requestId?: string) =>
  spdyHeaders([
    ["streamtype", type],
    ["port", port],
    ...requestId === undefined ? [] : [["requestid", requestId] as const],
  ]);
const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

Deno.test("portForwardOverSpdy() pairs error and data streams by request ID, whatever the order", async () => {
  await withPair(async (_server, client, connections) => {
    const e1 = await client.openStream(headers("error", "80", "1"));
    const d2 = await client.openStream(headers("data", "443", "2"));
    const d1 = await client.openStream(headers("data", "80", "1"));
    const first = (await connections.next()).value!;
    assert.equal(first.port, 80);
    const e2 = await client.openStream(headers("error", "443", "2"));
    const second = (await connections.next()).value!;
    assert.equal(second.port, 443);
    await d1.write(new TextEncoder().encode("to 80"));
    await d1.end();
    assert.equal(text(await readAll(first.fromClient)), "to 80");
    await first.toClient.write(new TextEncoder().encode("from 80"));
    await first.toClient.close();
    assert.equal(text(await readAll(d1)), "from 80");
    // Closing the output ends the error stream too: client-go waits for its EOF.
    await e1.end();
    assert.equal((await readAll(e1)).length, 0);
    await second.fail("connection refused");
    assert.equal(text(await readAll(e2)), "connection refused");
    assert.equal((await readAll(d2)).length, 0);
  });
});

Deno.test("portForwardOverSpdy() resets streams with a missing or bad port or stream type, unanswered", async () => {
  await withPair(async (_server, client, _connections, rejected) => {
    const bad = [
      spdyHeaders([["streamtype", "data"]]),
      headers("data", "0"),
      headers("data", "65536"),
      headers("data", "http"),
      spdyHeaders([["port", "80"]]),
      headers("stdin", "80"),
    ];
    for (const h of bad) await assert.rejects(client.openStream(h), /reset by the peer \(status 5\)/);
    assert.deepEqual(rejected, [
      '"port" header is required',
      'unable to parse "0" as a port',
      'unable to parse "65536" as a port',
      'unable to parse "http" as a port',
      '"streamtype" header is required',
      'invalid stream type "stdin"',
    ]);
  });
});

Deno.test("portForwardOverSpdy() tells an unpaired stream of the timeout, and resets a lone data stream", async () => {
  await withPair(async (_server, client) => {
    const error = await client.openStream(headers("error", "80", "7"));
    await error.end();
    assert.equal(text(await readAll(error)), "timed out waiting for streams of request 7");
    const data = await client.openStream(headers("data", "80", "8"));
    await readAll(data);
    assert.ok(data.closed.aborted);
  }, 50);
});

Deno.test("portForwardOverSpdy() refuses a second error stream for a request, telling the first", async () => {
  await withPair(async (_server, client, connections) => {
    const error = await client.openStream(headers("error", "80", "1"));
    await error.end();
    const errorText = readAll(error);
    await assert.rejects(client.openStream(headers("error", "80", "1")), /reset by the peer \(status 5\)/);
    await client.openStream(headers("data", "80", "1"));
    const connection = (await connections.next()).value!;
    await connection.toClient.close();
    assert.equal(text(await errorText), "error processing stream for request 1: error stream already assigned");
  });
});

Deno.test("portForwardOverSpdy() pairs streams of old clients without requestid by stream ID", async () => {
  await withPair(async (_server, client, connections) => {
    await client.openStream(headers("error", "80")); // stream 1
    await client.openStream(headers("data", "80")); // stream 3, paired with 3 - 2
    assert.equal((await connections.next()).value!.port, 80);
  });
});

Deno.test("a forwarded connection's closed signal aborts when the client resets its data stream", async () => {
  await withPair(async (_server, client, connections) => {
    const { data, errorText } = await openForward(client, 80, 0);
    const connection = (await connections.next()).value!;
    assert.equal(connection.closed.aborted, false);
    data.reset();
    await readAll(connection.fromClient);
    assert.ok(connection.closed.aborted);
    await connection.toClient.close();
    assert.equal(await errorText, "");
  });
});

Deno.test("closing the port-forward session ends its connections", async () => {
  const [a, b] = memoryDuplexPair();
  const server = new SpdySession(a);
  const client = new SpdySession(b, { role: "client" });
  const pf = portForwardOverSpdy(server, [80]);
  await openForward(client, 80, 0);
  const connections = pf.connections[Symbol.asyncIterator]();
  const connection = (await connections.next()).value!;
  const closing = pf.close();
  assert.ok(pf.closed.aborted);
  assert.ok(connection.closed.aborted);
  client.destroy();
  await closing;
  assert.equal((await connections.next()).done, true);
});
