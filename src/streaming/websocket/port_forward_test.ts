import assert from "node:assert/strict";
import type { WebSocket } from "ws";
import { FakeWebSocket } from "../../../tests/harness/ws_client.ts";
import type { ForwardedConnection } from "../session.ts";
import { portForwardOverWebSocket } from "./port_forward.ts";

const text = (s: string) => new TextEncoder().encode(s);
const aborted = (signal: AbortSignal) =>
  signal.aborted ? Promise.resolve() : new Promise((r) => signal.addEventListener("abort", r, { once: true }));
const decode = (chunks: Uint8Array[]) => new TextDecoder().decode(new Uint8Array(chunks.flatMap((c) => [...c])));

function forward(ports: number[], protocol = "v4.channel.k8s.io") {
  const fake = new FakeWebSocket();
  return { fake, session: portForwardOverWebSocket(fake as unknown as WebSocket, protocol, ports) };
}

Deno.test("each channel starts with its port, little-endian", async () => {
  const { fake, session } = forward([80, 8080]);
  assert.deepEqual(fake.sent.map((f) => [...(f.message as Uint8Array)]), [
    [0, 80, 0],
    [1, 80, 0],
    [2, 0x90, 0x1f],
    [3, 0x90, 0x1f],
  ]);
  await session.close();
});

Deno.test("one connection per port: data both ways, fail on the error channel, a normal close when all ended", async () => {
  const { fake, session } = forward([80, 8080]);
  const connections: ForwardedConnection[] = await Array.fromAsync(session.connections);
  assert.deepEqual(connections.map((c) => c.port), [80, 8080]);
  const [web, other] = connections as [ForwardedConnection, ForwardedConnection];
  fake.receiveOn(0, "GET /");
  fake.receiveOn(2, "ping");
  await web.toClient.write(text("200 OK"));
  const webIn = web.fromClient[Symbol.asyncIterator]();
  assert.equal(decode([(await webIn.next()).value!]), "GET /");
  await web.toClient.close();
  fake.receiveOn(0, "dropped"); // the connection ended on our side
  assert.equal((await webIn.next()).done, true);
  assert.equal(fake.closedWith, undefined);
  await other.fail("error forwarding port 8080: connection refused");
  await assert.rejects(other.toClient.write(text("x")), /closed/);
  await aborted(session.closed);
  assert.deepEqual(fake.closedWith, { code: 1000, reason: "" });
  assert.equal(decode(fake.sent.filter((f) => f.channel === 0).map((f) => f.payload).slice(1)), "200 OK");
  assert.equal(fake.textOn(3).slice(2), "error forwarding port 8080: connection refused");
  assert.equal(decode(await Array.fromAsync(other.fromClient)), "ping");
});

Deno.test("data on an error channel or an unknown channel is a protocol error", async () => {
  for (const [channel, reason] of [[1, /error channel of port 80/], [4, /channels 0 to 3/]] as const) {
    const { fake, session } = forward([80, 81]);
    fake.receiveOn(channel, "x");
    await aborted(session.closed);
    assert.equal(fake.closedWith?.code, 1002);
    assert.match(fake.closedWith!.reason, reason);
  }
});

Deno.test("the client leaving ends every connection", async () => {
  const { fake, session } = forward([80]);
  const [conn] = await Array.fromAsync(session.connections);
  fake.receiveOn(0, "bye");
  fake.drop();
  assert.equal(conn!.closed.aborted, true);
  assert.equal(decode(await Array.fromAsync(conn!.fromClient)), "bye");
});

Deno.test("base64 port-forward and the limits of the framing", async () => {
  const { fake, session } = forward([80], "v4.base64.channel.k8s.io");
  assert.deepEqual(fake.sent.map((f) => f.message), ["0UAA=", "1UAA="]);
  await session.close();
  assert.throws(() => forward([80], "v5.channel.k8s.io"), /not a port-forward subprotocol/);
  assert.throws(() => forward([0]), /0 is not a port/);
  assert.throws(() => forward(Array.from({ length: 41 }, (_, i) => i + 1), "v4.base64.channel.k8s.io"), /can carry 40/);
  assert.throws(() => forward(Array.from({ length: 128 }, (_, i) => i + 1)), /can carry 127/);
  const none = forward([]);
  await aborted(none.session.closed);
  assert.equal(none.fake.closedWith?.code, 1000);
});
