import assert from "node:assert/strict";
import type { WebSocket } from "ws";
import { FakeWebSocket } from "../../../tests/harness/ws_client.ts";
import type { RemoteCommandOptions } from "../session.ts";
import { ConnectionClosedError } from "./channel_connection.ts";
import { remoteCommandOverWebSocket } from "./remote_command.ts";

const ALL: RemoteCommandOptions = { stdin: true, stdout: true, stderr: true, tty: false };
const text = (s: string) => new TextEncoder().encode(s);
const aborted = (signal: AbortSignal) =>
  signal.aborted ? Promise.resolve() : new Promise((r) => signal.addEventListener("abort", r, { once: true }));

function session(options: RemoteCommandOptions, protocol = "v5.channel.k8s.io", fake = new FakeWebSocket()) {
  const s = remoteCommandOverWebSocket(fake as unknown as WebSocket, protocol, options, {
    writeHighWaterBytes: 100,
    readHighWaterBytes: 100,
  });
  return { s, fake };
}

Deno.test("the ready frame goes to the lowest output channel the client asked for", async () => {
  for (
    const [options, channel] of [
      [ALL, 1],
      [{ ...ALL, stdout: false }, 2],
      [{ stdin: true, stdout: false, stderr: false, tty: false }, 3],
    ] as const
  ) {
    const { s, fake } = session(options);
    assert.deepEqual(fake.sent.map((f) => [...(f.message as Uint8Array)]), [[channel]]);
    await s.finish({ kind: "exit", exitCode: 0 });
  }
});

Deno.test("stdin flows until the v5 close signal; finish writes the Status and closes normally", async () => {
  const { s, fake } = session(ALL);
  fake.receiveOn(0, "hello ");
  fake.receiveOn(0, ""); // just the channel byte: nothing
  fake.receiveOn(0, "world");
  fake.receive(Uint8Array.of(255, 0));
  fake.receiveOn(0, "late"); // after the close: dropped, as wsstream's closed pipe drops it
  const chunks = await Array.fromAsync(s.stdin!);
  assert.equal(new TextDecoder().decode(new Uint8Array(chunks.flatMap((c) => [...c]))), "hello world");
  await s.stdout!.write(text("out"));
  await s.stderr!.write(text("err"));
  await s.finish({ kind: "exit", exitCode: 0 });
  assert.equal(fake.textOn(1), "out");
  assert.equal(fake.textOn(2), "err");
  assert.equal(fake.textOn(3), '{"metadata":{},"status":"Success"}');
  assert.deepEqual(fake.closedWith, { code: 1000, reason: "" });
  assert.equal(s.closed.aborted, true);
  assert.match((s.closed.reason as Error).message, /the session ended/);
});

Deno.test("a non-zero exit is the NonZeroExitCode Status; finish is idempotent", async () => {
  const { s, fake } = session({ ...ALL, stdin: false });
  const first = s.finish({ kind: "exit", exitCode: 3 });
  assert.equal(s.finish({ kind: "exit", exitCode: 4 }), first);
  await first;
  assert.equal(JSON.parse(fake.textOn(3)).details.causes[0].message, "3");
  assert.equal(fake.sent.filter((f) => f.channel === 3).length, 1);
});

Deno.test("terminal sizes arrive with a TTY, in order, across messages; stderr is dropped with a TTY", async () => {
  const { s, fake } = session({ stdin: true, stdout: true, stderr: true, tty: true });
  assert.equal(s.stderr, undefined);
  assert.equal(s.options.stderr, false);
  fake.receiveOn(4, '{"Width":80,"Height":24}\n{"Width":1');
  fake.receiveOn(4, '00,"Height":30}\n');
  fake.receive(Uint8Array.of(255, 4));
  assert.deepEqual(await Array.fromAsync(s.resize!), [{ width: 80, height: 24 }, { width: 100, height: 30 }]);
  await s.finish({ kind: "exit", exitCode: 0 });
});

Deno.test("without a TTY, sizes are ignored (kubelet's runtime ignores them)", async () => {
  const { s, fake } = session(ALL);
  assert.equal(s.resize, undefined);
  fake.receiveOn(4, "not even json");
  assert.equal(fake.closedWith, undefined);
  await s.finish({ kind: "exit", exitCode: 0 });
});

Deno.test("protocol errors end the session with a 400 Status and close code 1002", async (t) => {
  const cases: [string, RemoteCommandOptions, (f: FakeWebSocket) => void, RegExp][] = [
    ["unknown channel", ALL, (f) => f.receiveOn(9, "x"), /channel 9, which does not exist/],
    ["stdin without stdin", { ...ALL, stdin: false }, (f) => f.receiveOn(0, "x"), /stdin=false/],
    ["a server-only channel", ALL, (f) => f.receiveOn(3, "x"), /channel 3 \(error\), which only the server writes/],
    ["a bad close signal", ALL, (f) => f.receive(Uint8Array.of(255, 0, 0)), /exactly one channel byte/],
    ["closing a channel that does not exist", ALL, (f) => f.receive(Uint8Array.of(255, 7)), /channel 7/],
    ["a malformed size", { ...ALL, tty: true, stderr: false }, (f) => f.receiveOn(4, "[1]"), /resize.*JSON object/],
  ];
  for (const [name, options, act, reason] of cases) {
    await t.step(name, async () => {
      const errors: string[] = [];
      const fake = new FakeWebSocket();
      const s = remoteCommandOverWebSocket(fake as unknown as WebSocket, "v4.channel.k8s.io", options, {
        onProtocolError: (r) => errors.push(r),
      });
      act(fake);
      await aborted(s.closed);
      assert.equal(fake.closedWith?.code, 1002);
      assert.match(fake.closedWith!.reason, reason);
      assert.equal(errors.length, 1);
      const status = JSON.parse(fake.textOn(3));
      assert.equal(status.code, 400);
      assert.match(status.message, /^protocol error: /);
      if (s.stdin) assert.equal((await s.stdin[Symbol.asyncIterator]().next()).done, true);
      await s.finish({ kind: "exit", exitCode: 0 }); // after the end: nothing more is sent
      assert.equal(fake.sent.filter((f) => f.channel === 3).length, 1);
    });
  }
});

Deno.test("a close signal for an unused channel is accepted, as wsstream's no-op Close", async () => {
  const { s, fake } = session({ ...ALL, stdin: false });
  fake.receive(Uint8Array.of(255, 0));
  fake.receive(Uint8Array.of(255, 1));
  fake.receive(new Uint8Array(0));
  assert.equal(fake.closedWith, undefined);
  await s.finish({ kind: "exit", exitCode: 0 });
});

Deno.test("writes wait while ws holds more than the high-water mark", async () => {
  const fake = new FakeWebSocket(false);
  const { s } = session(ALL, "v5.channel.k8s.io", fake);
  await s.stdout!.write(new Uint8Array(50)); // 1 + 51 buffered: under 100
  let done = false;
  const second = s.stdout!.write(new Uint8Array(80)).then(() => done = true);
  await new Promise((r) => setTimeout(r, 5));
  assert.equal(done, false);
  assert.equal(fake.bufferedAmount, 1 + 51 + 81);
  fake.drain();
  await second;
  fake.autoDrain = true;
  await s.finish({ kind: "exit", exitCode: 0 });
});

Deno.test("stdin the command does not read pauses the socket, and reading resumes it", async () => {
  const { s, fake } = session(ALL);
  fake.receiveOn(0, new Uint8Array(60));
  assert.equal(fake.paused, false);
  fake.receiveOn(0, new Uint8Array(60));
  assert.equal(fake.paused, true);
  const it = s.stdin![Symbol.asyncIterator]();
  await it.next();
  await it.next();
  assert.equal(fake.paused, false);
  await s.finish({ kind: "exit", exitCode: 0 });
});

Deno.test("a client that goes away aborts closed, ends stdin and fails writes", async () => {
  const { s, fake } = session(ALL);
  fake.receiveOn(0, "queued");
  fake.drop(1006);
  assert.equal(s.closed.aborted, true);
  assert.ok(s.closed.reason instanceof ConnectionClosedError);
  assert.match(s.closed.reason.message, /the client went away \(close code 1006\)/);
  assert.equal((await Array.fromAsync(s.stdin!)).length, 1);
  await assert.rejects(s.stdout!.write(text("x")), ConnectionClosedError);
  await s.finish({ kind: "exit", exitCode: 0 }); // nothing to do, resolves
});

Deno.test("finish gives up on a client that takes nothing after finishTimeoutMs", async () => {
  const fake = new FakeWebSocket(false);
  const s = remoteCommandOverWebSocket(fake as unknown as WebSocket, "v5.channel.k8s.io", ALL, {
    finishTimeoutMs: 20,
  });
  await s.finish({ kind: "exit", exitCode: 0 });
  assert.equal(fake.terminated, true);
  assert.equal(fake.closedWith, undefined);
});

Deno.test("an idle session is closed with 1001, and a message puts the deadline back", async () => {
  const fake = new FakeWebSocket();
  const s = remoteCommandOverWebSocket(fake as unknown as WebSocket, "v5.channel.k8s.io", ALL, { idleTimeoutMs: 400 });
  await new Promise((r) => setTimeout(r, 200));
  fake.receiveOn(0, "activity");
  // 500 ms in: past the first deadline (400), before the one the message set (600).
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(s.closed.aborted, false, "the message at 200 ms kept the session open");
  await aborted(s.closed);
  assert.deepEqual(fake.closedWith, { code: 1001, reason: "idle for 400 ms" });
});

Deno.test("base64 protocols frame as text; unversioned ones write only failures", async () => {
  const { s, fake } = session(ALL, "base64.channel.k8s.io");
  assert.deepEqual(fake.sent.map((f) => f.message), ["1"]);
  fake.receive("0aGk=");
  fake.receive("0!!");
  await aborted(s.closed);
  assert.equal(fake.closedWith?.code, 1002);
  assert.equal(fake.textOn(3), "protocol error: channel 0: the message is not valid base64");
  assert.deepEqual(await Array.fromAsync(s.stdin!), []); // discarded by the protocol error

  const ok = session({ ...ALL, stdin: false }, "base64.channel.k8s.io");
  await ok.s.stdout!.write(text("hi"));
  await ok.s.finish({ kind: "exit", exitCode: 0 });
  assert.deepEqual(ok.fake.sent.map((f) => f.message), ["1", "1aGk="]);

  const failed = session({ ...ALL, stdin: false }, "v4.base64.channel.k8s.io");
  await failed.s.finish({ kind: "error", message: "gone" });
  assert.equal(JSON.parse(failed.fake.textOn(3)).message, "Internal error occurred: gone");
  assert.equal(typeof failed.fake.sent.at(-1)!.message, "string");
});

Deno.test("an unknown subprotocol is a programming error", () => {
  assert.throws(() => session(ALL, "SPDY/3.1+portforward.k8s.io"), /not a remote-command subprotocol/);
});
