/**
 * The WebSocket streaming transport over real sockets: a node:http server on loopback whose `upgrade` handler accepts
 * with `acceptWebSocket` and runs a fake command (or fake pod ports) on the session the builders return, and a client
 * that speaks as client-go does (tests/harness/ws_client.ts).
 * @module
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { createHash } from "node:crypto";
import http from "node:http";
import type { Duplex } from "node:stream";
import type { WebSocket } from "ws";
import type { RemoteCommandSession, TerminalSize } from "../src/streaming/session.ts";
import {
  acceptWebSocket,
  ConnectionClosedError,
  parsePortQuery,
  PORT_FORWARD_PROTOCOLS,
  portForwardOverWebSocket,
  REMOTE_COMMAND_PROTOCOLS,
  remoteCommandOverWebSocket,
  SPDY_TUNNEL_PORT_FORWARD_PROTOCOL,
  WebSocketRefused,
  type WebSocketSessionTuning,
} from "../src/streaming/websocket/mod.ts";
import { concat, dialPortForward, dialRemoteCommand, tryDial } from "./harness/ws_client.ts";

const text = (s: string) => new TextEncoder().encode(s);
const decode = (b: Uint8Array) => new TextDecoder().decode(b);

/** What a test's upgrade handler gets. */
interface Upgrade {
  req: http.IncomingMessage;
  socket: Duplex;
  head: Buffer;
  url: URL;
}

/** A loopback HTTP server whose upgrades go to `onUpgrade`; its failures are collected, never thrown. */
async function startServer(onUpgrade: (u: Upgrade) => Promise<void>) {
  const failures: unknown[] = [];
  const running = new Set<Promise<void>>();
  const server = http.createServer((_req, res) => res.writeHead(404).end());
  server.on("upgrade", (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    const run = onUpgrade({ req, socket, head, url }).catch((err) => void failures.push(err));
    running.add(run);
    run.finally(() => running.delete(run));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return {
    base: `ws://127.0.0.1:${port}`,
    failures,
    /** Waits for the handlers, then closes the server. */
    async [Symbol.asyncDispose]() {
      await Promise.all(running);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A handler that accepts a remote command and runs `command` on it; the query names the streams. */
function remoteCommand(
  command: (session: RemoteCommandSession, ws: WebSocket) => Promise<void>,
  tuning: WebSocketSessionTuning = {},
  seen: RemoteCommandSession[] = [],
) {
  return async ({ req, socket, head, url }: Upgrade) => {
    const { ws, protocol } = await acceptWebSocket(req, socket, head, { protocols: REMOTE_COMMAND_PROTOCOLS });
    const q = url.searchParams;
    // ?delay=N: the server takes its time (creating the exec in Podman, say) before it builds the session.
    if (q.has("delay")) await new Promise((r) => setTimeout(r, Number(q.get("delay"))));
    const session = remoteCommandOverWebSocket(ws, protocol, {
      stdin: q.has("stdin"),
      stdout: q.has("stdout"),
      stderr: q.has("stderr"),
      tty: q.has("tty"),
    }, tuning);
    seen.push(session);
    await command(session, ws);
  };
}

/** The fake command `cat`: stdin to stdout, then exit 0. */
async function cat(session: RemoteCommandSession): Promise<void> {
  for await (const chunk of session.stdin!) await session.stdout!.write(chunk);
  await session.finish({ kind: "exit", exitCode: 0 });
}

Deno.test("echo over v5: the ready frame, stdin to stdout, the v5 close signal, Success", async () => {
  await using server = await startServer(remoteCommand(cat));
  const client = await dialRemoteCommand(`${server.base}/exec?stdin&stdout&stderr`, {
    protocols: ["v5.channel.k8s.io", "v4.channel.k8s.io"],
  });
  assert.equal(client.protocol, "v5.channel.k8s.io");
  // 2 MiB of random bytes in client-go's 32 KiB writes, compared byte for byte.
  const data = crypto.getRandomValues(new Uint8Array(65536));
  const sent = createHash("sha256");
  for (let i = 0; i < 32; i++) {
    for (let at = 0; at < data.length; at += 32 * 1024) {
      const piece = data.subarray(at, at + 32 * 1024);
      sent.update(piece);
      await client.writeStdin(piece);
    }
  }
  await client.closeStdin();
  const result = await client.done;
  assert.deepEqual(result.firstFrame, { channel: 1, length: 0 });
  assert.deepEqual(result.exit, { kind: "success" });
  assert.equal(decode(result.errorStream), '{"metadata":{},"status":"Success"}');
  assert.equal(result.closeCode, 1000);
  assert.equal(result.stdout.length, 32 * 65536);
  assert.equal(createHash("sha256").update(result.stdout).digest("hex"), sent.digest("hex"));
  assert.deepEqual([result.discarded, result.violations], [[], []]);
  assert.deepEqual(server.failures, []);
});

Deno.test("exit code 3 reaches the client as client-go parses it, after the command's stderr", async () => {
  await using server = await startServer(remoteCommand(async (session) => {
    await session.stderr!.write(text("something failed\n"));
    await session.finish({ kind: "exit", exitCode: 3 });
  }));
  const client = await dialRemoteCommand(`${server.base}/exec?stdout&stderr`);
  const result = await client.done;
  assert.deepEqual(result.exit, { kind: "exit", code: 3, message: "command terminated with exit code 3" });
  assert.equal(decode(result.stderr), "something failed\n");
  assert.deepEqual(JSON.parse(decode(result.errorStream)), {
    metadata: {},
    status: "Failure",
    message: "command terminated with non-zero exit code: exit code 3", // no argv known here: see status.ts
    reason: "NonZeroExitCode",
    details: { causes: [{ reason: "ExitCode", message: "3" }] },
  });
});

Deno.test("closing stdin (v5) reaches the command as EOF while the session goes on", async () => {
  await using server = await startServer(remoteCommand(async (session) => {
    let n = 0;
    for await (const chunk of session.stdin!) n += chunk.length;
    await session.stdout!.write(text(`EOF after ${n} bytes`));
    await session.stdout!.write(text("; still here"));
    await session.finish({ kind: "exit", exitCode: 0 });
  }));
  // The client writes at once; the server builds the session 50 ms later: nothing may be lost meanwhile.
  const client = await dialRemoteCommand(`${server.base}/exec?stdin&stdout&delay=50`);
  await client.writeStdin(text("12345"));
  await client.closeStdin();
  const giveUp = setTimeout(() => client.kill(), 5000); // a lost close signal would leave the command waiting
  const result = await client.done;
  clearTimeout(giveUp);
  assert.equal(decode(result.stdout), "EOF after 5 bytes; still here");
  assert.deepEqual(result.exit, { kind: "success" });
});

Deno.test("base64 variants: text frames both ways; the unversioned one reports only failures, as text", async () => {
  await using server = await startServer(remoteCommand(async (session) => {
    if (!session.stdin) return await session.finish({ kind: "error", message: "container is not running" });
    for await (const chunk of session.stdin) {
      await session.stdout!.write(chunk);
      break;
    }
    await session.finish({ kind: "exit", exitCode: 0 });
  }));
  const v4 = await dialRemoteCommand(`${server.base}/exec?stdin&stdout`, { protocols: ["v4.base64.channel.k8s.io"] });
  assert.equal(v4.protocol, "v4.base64.channel.k8s.io");
  await v4.writeStdin(text("héllo"));
  const result = await v4.done;
  assert.deepEqual(result.firstFrame, { channel: 1, length: 0 });
  assert.equal(decode(result.stdout), "héllo");
  assert.deepEqual(result.exit, { kind: "success" });

  const old = await dialRemoteCommand(`${server.base}/exec?stdout`, { protocols: ["base64.channel.k8s.io"] });
  const failed = await old.done;
  assert.equal(failed.closeCode, 1000);
  assert.deepEqual(failed.exit, { kind: "error", message: "Internal error occurred: container is not running" });
});

Deno.test("base64 has no close signal: stdin ends when the client closes the connection", async () => {
  const seen = Promise.withResolvers<{ stdin: string; aborted: boolean }>();
  await using server = await startServer(remoteCommand(async (session) => {
    const chunks = await Array.fromAsync(session.stdin!);
    seen.resolve({ stdin: decode(concat(chunks)), aborted: session.closed.aborted });
  }));
  const client = await dialRemoteCommand(`${server.base}/exec?stdin&stdout`, {
    protocols: ["base64.channel.k8s.io"],
  });
  await client.sendRaw("0YWJj");
  client.ws.close(1000);
  assert.equal((await client.done).closeCode, 1000);
  assert.deepEqual(await seen.promise, { stdin: "abc", aborted: true });
});

Deno.test("a client naming no subprotocol gets kubelet's unversioned binary protocol", async () => {
  await using server = await startServer(remoteCommand(async (session) => {
    await session.stdout!.write(text("plain"));
    await session.finish({ kind: "exit", exitCode: 0 });
  }));
  const client = await dialRemoteCommand(`${server.base}/exec?stdout`, { protocols: [] });
  assert.equal(client.protocol, "");
  const result = await client.done;
  assert.equal(decode(result.stdout), "plain");
  assert.equal(result.errorStream.length, 0); // v1: success writes nothing on channel 3
  assert.deepEqual(result.exit, { kind: "success" });
});

Deno.test("bytes that arrive with the handshake (node:http's head) are not lost", async () => {
  await using server = await startServer(remoteCommand(cat));
  const { port } = new URL(server.base.replace("ws:", "http:"));
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: Number(port) });
  // The handshake, a masked binary frame [0, "hi"] and the masked close signal [255, 0], in one write.
  const masked = (payload: number[]) => {
    const key = [1, 2, 3, 4];
    return [0x82, 0x80 | payload.length, ...key, ...payload.map((b, i) => b ^ key[i % 4]!)];
  };
  const request = `GET /exec?stdin&stdout HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n` +
    `Sec-WebSocket-Protocol: v5.channel.k8s.io\r\n\r\n`;
  await conn.write(Uint8Array.from([...text(request), ...masked([0, 104, 105]), ...masked([255, 0])]));
  const received: number[] = [];
  const buffer = new Uint8Array(4096);
  for (;;) {
    const n = await conn.read(buffer);
    if (n === null) break;
    received.push(...buffer.subarray(0, n));
    const all = decode(Uint8Array.from(received));
    if (all.includes("Success")) break;
  }
  conn.close();
  const all = decode(Uint8Array.from(received));
  assert.match(all, /^HTTP\/1\.1 101 Switching Protocols\r\n/);
  assert.match(all, /Sec-WebSocket-Protocol: v5\.channel\.k8s\.io\r\n/);
  // Server frames are unmasked: 0x82 (binary), length, channel, payload: the echo of the bytes sent with the request.
  const echo = [0x82, 3, 1, 104, 105];
  assert.ok(received.some((_, i) => echo.every((b, j) => received[i + j] === b)), JSON.stringify(all));
});

Deno.test("terminal sizes reach the command with a TTY, first one before any output", async () => {
  await using server = await startServer(remoteCommand(async (session) => {
    const sizes: TerminalSize[] = [];
    for await (const size of session.resize!) {
      sizes.push(size);
      if (sizes.length === 2) break;
    }
    await session.stdout!.write(text(JSON.stringify(sizes)));
    await session.finish({ kind: "exit", exitCode: 0 });
  }));
  const client = await dialRemoteCommand(`${server.base}/exec?stdin&stdout&stderr&tty`);
  await client.resize(80, 24);
  await client.resize(132, 43);
  const result = await client.done;
  assert.deepEqual(JSON.parse(decode(result.stdout)), [{ width: 80, height: 24 }, { width: 132, height: 43 }]);
  assert.deepEqual(result.exit, { kind: "success" });
});

Deno.test("256 MiB through stdout with back-pressure: ws's buffer stays bounded, memory does not grow", async () => {
  const TOTAL = 256 * 1024 * 1024;
  const CHUNK = 64 * 1024;
  const HIGH_WATER = 1024 * 1024;
  const PAUSE_MS = 300;
  let peak = 0;
  let written = 0;
  // Sampled every 16 MiB: a server that kept what it sent would grow by the transfer.
  const memory = (m = Deno.memoryUsage()) => ({ rss: m.rss, js: m.heapUsed + m.external });
  const before = memory();
  let mid = before;
  let jsPeak = before.js;
  await using server = await startServer(remoteCommand(async (session, ws) => {
    const chunk = new Uint8Array(CHUNK).fill(7);
    while (written < TOTAL) {
      await session.stdout!.write(chunk);
      written += CHUNK;
      peak = Math.max(peak, ws.bufferedAmount);
      if (written % (16 * 1024 * 1024) === 0) {
        const now = memory();
        jsPeak = Math.max(jsPeak, now.js);
        if (written === TOTAL / 2) mid = now;
      }
    }
    await session.finish({ kind: "exit", exitCode: 0 });
  }, { writeHighWaterBytes: HIGH_WATER }));
  let received = 0;
  let pausedAt = -1;
  let writtenWhilePaused = 0;
  const started = performance.now();
  const client = await dialRemoteCommand(`${server.base}/exec?stdout`, {
    onStdout: (bytes) => {
      received += bytes.length;
      if (pausedAt < 0 && received >= 64 * 1024 * 1024) {
        // A client that stops reading: the command must stop with it, a few MiB of socket buffers later.
        pausedAt = written;
        client.ws.pause();
        setTimeout(() => {
          writtenWhilePaused = written - pausedAt;
          client.ws.resume();
        }, PAUSE_MS);
      }
    },
  });
  const result = await client.done;
  const seconds = (performance.now() - started - PAUSE_MS) / 1000;
  const end = memory();
  assert.deepEqual(result.exit, { kind: "success" });
  assert.equal(received, TOTAL);
  assert.ok(peak <= HIGH_WATER + CHUNK + 16, `peak bufferedAmount ${peak}`);
  assert.ok(writtenWhilePaused < 32 * 1024 * 1024, `the command wrote ${writtenWhilePaused} bytes to a paused client`);
  const MiB = 1024 * 1024;
  // This isolate's heap and external memory (rss is the whole process's, shared with tests running in parallel).
  assert.ok(jsPeak - before.js < 128 * MiB, `heap + external grew by ${jsPeak - before.js} bytes`);
  console.log(
    `256 MiB through stdout at ${(TOTAL / MiB / seconds).toFixed(0)} MiB/s (server and client in one process, ` +
      `the ${PAUSE_MS} ms pause left out); peak bufferedAmount ${peak} bytes; ` +
      `${(writtenWhilePaused / MiB).toFixed(1)} MiB written while the client paused; ` +
      `rss ${((end.rss - before.rss) / MiB).toFixed(0)} MiB over the start, ` +
      `${((end.rss - mid.rss) / MiB).toFixed(0)} MiB over the second half; ` +
      `heap + external peak ${((jsPeak - before.js) / MiB).toFixed(0)} MiB over the start`,
  );
});

Deno.test("stdin is read only as fast as the command takes it", async () => {
  let release!: () => void;
  const released = new Promise<void>((resolve) => release = resolve);
  await using server = await startServer(remoteCommand(async (session) => {
    await released;
    let n = 0;
    for await (const chunk of session.stdin!) n += chunk.length;
    await session.stdout!.write(text(String(n)));
    await session.finish({ kind: "exit", exitCode: 0 });
  }, { readHighWaterBytes: 256 * 1024 }));
  const client = await dialRemoteCommand(`${server.base}/exec?stdin&stdout`);
  const piece = new Uint8Array(64 * 1024);
  let sent = 0;
  const sending = (async () => {
    for (let i = 0; i < 512; i++) {
      await client.writeStdin(piece); // 32 MiB, each write awaited as client-go's are
      sent += piece.length;
    }
    await client.closeStdin();
  })();
  try {
    // The server stops reading once 256 KiB wait for the command: what the client can still write is what the
    // sockets' kernel buffers hold, far from the 32 MiB it wants to send.
    await new Promise((r) => setTimeout(r, 500));
    assert.ok(sent < 16 * 1024 * 1024, `the client wrote ${sent} bytes to a server that does not read`);
    console.log(`a server that does not read took ${(sent / 1048576).toFixed(1)} MiB of the client's 32 MiB`);
  } finally {
    release();
  }
  await sending;
  assert.equal(decode((await client.done).stdout), String(512 * 64 * 1024));
});

Deno.test("port-forward of two ports: port prefixes, data both ways, a failure on the error channel", async () => {
  await using server = await startServer(async ({ req, socket, head, url }) => {
    const query = parsePortQuery(url.search);
    assert.ok(query.ok);
    const { ws, protocol } = await acceptWebSocket(req, socket, head, { protocols: PORT_FORWARD_PROTOCOLS });
    const session = portForwardOverWebSocket(ws, protocol, query.ports);
    const pods: Promise<void>[] = [];
    for await (const conn of session.connections) {
      pods.push((async () => {
        if (conn.port === 8080) return await conn.fail(`error forwarding port 8080 to pod p: connection refused`);
        for await (const chunk of conn.fromClient) {
          await conn.toClient.write(text(decode(chunk).toUpperCase()));
          if (decode(chunk).endsWith("\n")) break;
        }
        await conn.toClient.close();
      })());
    }
    await Promise.all(pods);
  });
  const client = await dialPortForward(`${server.base}/portforward?port=80&port=8080`, 2);
  assert.equal(client.protocol, "v4.channel.k8s.io");
  await client.send(0, text("get "));
  await client.send(0, text("/index.html\n"));
  const closed = await client.done;
  assert.deepEqual(closed, { code: 1000, reason: "" });
  assert.deepEqual(client.streams.map((s) => [s.dataPort, s.errorPort]), [[80, 80], [8080, 8080]]);
  assert.equal(client.text(0), "GET /INDEX.HTML\n");
  assert.deepEqual(client.streams[1]!.errors, ["error forwarding port 8080 to pod p: connection refused"]);
  assert.deepEqual(server.failures, []);
});

Deno.test("a subprotocol we do not speak is refused with 403 and a Status; a malformed handshake with 400", async () => {
  const refusals: unknown[] = [];
  await using server = await startServer(async (u) => {
    try {
      await remoteCommand(cat)(u);
    } catch (err) {
      refusals.push(err);
    }
  });
  const refused = await tryDial(`${server.base}/exec?stdin&stdout`, ["v3.channel.k8s.io", "v2.channel.k8s.io"]);
  assert.ok(!refused.ok);
  assert.equal(refused.status, 403);
  assert.equal(refused.contentType, "application/json");
  const status = JSON.parse(refused.body);
  assert.equal(status.kind, "Status");
  assert.equal(status.code, 403);
  assert.match(
    status.message,
    /^requested protocol\(s\) are not supported: \[v3\.channel\.k8s\.io v2\.channel\.k8s\.io\]; supports \[v5/,
  );

  const badVersion = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = http.request(`http://${server.base.slice(5)}/exec?stdout`, {
      headers: {
        Connection: "Upgrade",
        Upgrade: "websocket",
        "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
        "Sec-WebSocket-Version": "12",
        "Sec-WebSocket-Protocol": "v5.channel.k8s.io",
      },
    });
    req.on("response", (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
    });
    req.on("error", reject);
    req.end();
  });
  assert.equal(badVersion.status, 400);
  assert.match(JSON.parse(badVersion.body).message, /Sec-WebSocket-Version/);

  // The server goes on serving.
  const client = await dialRemoteCommand(`${server.base}/exec?stdin&stdout`);
  await client.writeStdin(text("still serving"));
  await client.closeStdin();
  assert.equal(decode((await client.done).stdout), "still serving");
  assert.equal(refusals.length, 2);
  assert.ok(refusals.every((r) => r instanceof WebSocketRefused));
  assert.deepEqual(refusals.map((r) => (r as WebSocketRefused).status), [403, 400]);
});

Deno.test("the SPDY tunnel subprotocol, whose '/' ws's own parser refuses, can be accepted", async () => {
  const accepted = Promise.withResolvers<string>();
  await using server = await startServer(async ({ req, socket, head }) => {
    const { ws, protocol } = await acceptWebSocket(req, socket, head, {
      protocols: [SPDY_TUNNEL_PORT_FORWARD_PROTOCOL],
    });
    accepted.resolve(protocol);
    ws.terminate();
  });
  const answer = await new Promise<string | undefined>((resolve, reject) => {
    const req = http.request(`http://${server.base.slice(5)}/portforward`, {
      headers: {
        Connection: "Upgrade",
        Upgrade: "websocket",
        "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
        "Sec-WebSocket-Version": "13",
        // What client-go's tunneling dialer offers (tools/portforward/tunneling_dialer.go).
        "Sec-WebSocket-Protocol": "SPDY/3.1+portforward.k8s.io",
      },
    });
    req.on("upgrade", (res, upgraded) => {
      upgraded.destroy();
      resolve(res.headers["sec-websocket-protocol"]);
    });
    req.on("response", (res) => reject(new Error(`no upgrade: ${res.statusCode}`)));
    req.on("error", reject);
    req.end();
  });
  assert.equal(answer, "SPDY/3.1+portforward.k8s.io");
  assert.equal(await accepted.promise, "SPDY/3.1+portforward.k8s.io");
});

Deno.test("malformed messages end only their session, with a reason; the server keeps serving", async () => {
  const sessions: RemoteCommandSession[] = [];
  await using server = await startServer(remoteCommand(
    async (session) => {
      // A command that runs until stdin ends or the client is gone.
      if (session.stdin) { for await (const _ of session.stdin); }
      else await new Promise((r) => session.closed.addEventListener("abort", r, { once: true }));
      await session.finish({ kind: "exit", exitCode: 0 });
    },
    {},
    sessions,
  ));

  const unknown = await dialRemoteCommand(`${server.base}/exec?stdin&stdout`);
  await unknown.sendChannel(9, text("?"));
  const r1 = await unknown.done;
  assert.equal(r1.closeCode, 1002);
  assert.match(r1.closeReason, /channel 9, which does not exist/);
  assert.match(r1.exit.kind === "error" ? r1.exit.message : "", /close 1002 .*channel 9/);
  assert.equal(JSON.parse(decode(r1.errorStream)).reason, "BadRequest");

  const noStdin = await dialRemoteCommand(`${server.base}/exec?stdout`);
  await noStdin.writeStdin(text("unasked"));
  const r2 = await noStdin.done;
  assert.equal(r2.closeCode, 1002);
  assert.match(r2.closeReason, /stdin=false/);

  const fine = await dialRemoteCommand(`${server.base}/exec?stdin&stdout`);
  await fine.closeStdin();
  assert.deepEqual((await fine.done).exit, { kind: "success" });
  assert.equal(sessions.length, 3);
  assert.ok(sessions.every((s) => s.closed.aborted));
  assert.deepEqual(server.failures, []);
});

Deno.test("a client that vanishes aborts closed and fails the command's writes", async () => {
  let writeError: unknown;
  let reason: unknown;
  let started!: () => void;
  const running = new Promise<void>((resolve) => started = resolve);
  await using server = await startServer(remoteCommand(async (session) => {
    started();
    try {
      for (;;) await session.stdout!.write(new Uint8Array(64 * 1024));
    } catch (err) {
      writeError = err;
    }
    reason = session.closed.reason;
  }));
  const client = await dialRemoteCommand(`${server.base}/exec?stdout`, { onStdout: () => {} });
  await running;
  await new Promise((r) => setTimeout(r, 20));
  client.kill();
  await client.done;
  await server[Symbol.asyncDispose]();
  assert.ok(writeError instanceof ConnectionClosedError, String(writeError));
  assert.ok(reason instanceof ConnectionClosedError);
  assert.match(reason.message, /the client went away/);
});

Deno.test("Deno's own WebSocket client gets the same protocol", async () => {
  await using server = await startServer(remoteCommand(cat));
  const ws = new globalThis.WebSocket(`${server.base}/exec?stdin&stdout`, ["v5.channel.k8s.io"]);
  ws.binaryType = "arraybuffer";
  const frames: Uint8Array[] = [];
  const closed = new Promise<CloseEvent>((resolve) => ws.onclose = resolve);
  ws.onmessage = (e) => frames.push(new Uint8Array(e.data as ArrayBuffer));
  await new Promise((resolve, reject) => {
    ws.onopen = resolve;
    ws.onerror = reject;
  });
  assert.equal(ws.protocol, "v5.channel.k8s.io");
  ws.send(Uint8Array.of(0, ...text("hi")));
  ws.send(Uint8Array.of(255, 0));
  const event = await closed;
  assert.equal(event.code, 1000);
  assert.deepEqual(frames.map((f) => [f[0], decode(f.subarray(1))]), [
    [1, ""],
    [1, "hi"],
    [3, '{"metadata":{},"status":"Success"}'],
  ]);
});
