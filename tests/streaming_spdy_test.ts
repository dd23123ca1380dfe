import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import http from "node:http";
import net from "node:net";
import type { Duplex } from "node:stream";
import type { RemoteCommandOptions, RemoteCommandSession } from "../src/streaming/session.ts";
import {
  acceptSpdy,
  PORT_FORWARD_PROTOCOLS,
  portForwardOverSpdy,
  REMOTE_COMMAND_PROTOCOLS,
  remoteCommandOverSpdy,
  type SpdySession,
} from "../src/streaming/spdy/mod.ts";
import { encodeControlHeader } from "../src/streaming/spdy/frames.ts";
import { dialSpdy, openForward, readAll, RemoteCommandClient } from "./harness/spdy_client.ts";

// A fake command: what the test's server runs for one remote-command session.
type Command = (cmd: RemoteCommandSession) => Promise<void>;

interface Fixture {
  port: number;
  /** Errors the server side raised (a rejected builder, a failed command). */
  serverErrors: unknown[];
  /** Every server session, to check they all end. */
  sessions: SpdySession[];
}

const MiB = 1024 * 1024;

// Routes: /exec?stdin=1&stdout=1&stderr=1&tty=1&cmd=<name>, /portforward?mode=echo|fail|count.
async function withServer(
  commands: Record<string, Command>,
  fn: (fx: Fixture) => Promise<void>,
  streamTimeoutMs = 30_000,
): Promise<void> {
  const serverErrors: unknown[] = [];
  const sessions: SpdySession[] = [];
  const sockets = new Set<Duplex>();
  const server = http.createServer((_req, res) => {
    res.writeHead(404).end();
  });
  server.on("upgrade", (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    const url = new URL(req.url ?? "/", "http://x");
    if (url.pathname === "/exec") {
      const accepted = acceptSpdy(req, socket, head, { protocols: REMOTE_COMMAND_PROTOCOLS });
      if (!accepted.ok) return;
      sessions.push(accepted.session);
      const flag = (name: string) => url.searchParams.get(name) === "1";
      const options: RemoteCommandOptions = {
        stdin: flag("stdin"),
        stdout: flag("stdout"),
        stderr: flag("stderr"),
        tty: flag("tty"),
      };
      const command = commands[url.searchParams.get("cmd") ?? ""];
      void (async () => {
        const cmd = await remoteCommandOverSpdy(accepted.session, accepted.protocol, options, {
          streamTimeoutMs,
          command: ["sh", "-c", "test"],
        });
        if (!command) throw new Error("no such command");
        await command(cmd);
      })().catch((err) => serverErrors.push(err));
    } else if (url.pathname === "/portforward") {
      const accepted = acceptSpdy(req, socket, head, { protocols: PORT_FORWARD_PROTOCOLS });
      if (!accepted.ok) return;
      sessions.push(accepted.session);
      const pf = portForwardOverSpdy(accepted.session, [80], { streamTimeoutMs });
      void (async () => {
        for await (const conn of pf.connections) {
          void (async () => {
            if (conn.port === 81) return await conn.fail("no listener on port 81");
            if (conn.port === 82) {
              // Counts what the client sends and answers with the count once it closes its side.
              let total = 0;
              for await (const chunk of conn.fromClient) total += chunk.length;
              await conn.toClient.write(new TextEncoder().encode(String(total)));
              return await conn.toClient.close();
            }
            for await (const chunk of conn.fromClient) await conn.toClient.write(chunk);
            await conn.toClient.close();
          })().catch((err) => serverErrors.push(err));
        }
      })().catch((err) => serverErrors.push(err));
    } else {
      socket.end("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  try {
    await fn({ port, serverErrors, sessions });
  } finally {
    for (const session of sessions) await session.close();
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  }
}

const echo: Command = async (cmd) => {
  for await (const chunk of cmd.stdin!) await cmd.stdout!.write(chunk);
  await cmd.finish({ kind: "exit", exitCode: 0 });
};

const exit3: Command = async (cmd) => {
  await cmd.stdout!.write(new TextEncoder().encode("bye\n"));
  await cmd.finish({ kind: "exit", exitCode: 3 });
};

const failing: Command = async (cmd) => {
  await cmd.finish({ kind: "error", message: "container is not running" });
};

async function execSession(port: number, query: string, protocols: readonly string[] = REMOTE_COMMAND_PROTOCOLS) {
  const dial = await dialSpdy(port, `/exec?${query}`, protocols);
  assert.equal(dial.status, 101, dial.body);
  return { session: dial.session!, protocol: dial.protocol! };
}

Deno.test("acceptSpdy() switches to SPDY/3.1 with the client's most preferred protocol we serve", async () => {
  await withServer({}, async ({ port }) => {
    const dial = await dialSpdy(port, "/exec?stdout=1&cmd=none", [
      "v5.channel.k8s.io",
      "v3.channel.k8s.io",
      "v4.channel.k8s.io",
    ]);
    assert.equal(dial.status, 101);
    assert.deepEqual(dial.headers.get("upgrade"), ["SPDY/3.1"]);
    assert.deepEqual(dial.headers.get("connection"), ["Upgrade"]);
    assert.equal(dial.protocol, "v3.channel.k8s.io");
    await dial.session!.close();
  });
});

Deno.test("acceptSpdy() refuses with 403 and the accepted list when no protocol matches, 400 without one", async () => {
  await withServer({}, async ({ port }) => {
    const none = await dialSpdy(port, "/portforward", ["v4.channel.k8s.io", "bogus"]);
    assert.equal(none.status, 403);
    assert.deepEqual(none.headers.get("x-accepted-stream-protocol-versions"), ["portforward.k8s.io"]);
    assert.equal(
      none.body,
      "unable to upgrade: unable to negotiate protocol: client supports [v4.channel.k8s.io bogus], server accepts [portforward.k8s.io]\n",
    );
    const missing = await dialSpdy(port, "/portforward", []);
    assert.equal(missing.status, 400);
    assert.equal(missing.body, "unable to upgrade: X-Stream-Protocol-Version is required\n");
    const noUpgrade = await dialSpdy(port, "/portforward", ["portforward.k8s.io"], { upgrade: "websocket" });
    assert.equal(noUpgrade.status, 400);
    assert.match(noUpgrade.body, /missing upgrade headers/);
  });
});

Deno.test("an echo command over v4: stdin reaches stdout, the client's FIN ends stdin, exit 0 is Success", async () => {
  await withServer({ echo }, async ({ port, serverErrors }) => {
    const { session, protocol } = await execSession(port, "stdin=1&stdout=1&stderr=1&cmd=echo");
    assert.equal(protocol, "v4.channel.k8s.io");
    const client = await RemoteCommandClient.open(session, protocol, {
      stdin: true,
      stdout: true,
      stderr: true,
      tty: false,
    });
    const stdout = client.readOutput("stdout");
    const stderr = client.readOutput("stderr");
    await client.writeStdin("hello ");
    await client.writeStdin("world\n");
    await client.closeStdin();
    assert.equal(new TextDecoder().decode(await stdout), "hello world\n");
    assert.equal((await stderr).length, 0);
    assert.deepEqual(await client.result(), { exitCode: 0, error: undefined });
    await session.close();
    assert.deepEqual(serverErrors, []);
  });
});

Deno.test("exit code 3 is reported as client-go's CodeExitError over v4, and as text over v3 and v2", async () => {
  await withServer({ exit3 }, async ({ port }) => {
    for (const protocol of ["v4.channel.k8s.io", "v3.channel.k8s.io", "v2.channel.k8s.io"]) {
      const { session } = await execSession(port, "stdout=1&cmd=exit3", [protocol]);
      const client = await RemoteCommandClient.open(session, protocol, {
        stdin: false,
        stdout: true,
        stderr: false,
        tty: false,
      });
      assert.equal(new TextDecoder().decode(await client.readOutput("stdout")), "bye\n");
      const result = await client.result();
      if (protocol === "v4.channel.k8s.io") {
        assert.deepEqual(result, { exitCode: 3, error: "command terminated with exit code 3" });
      } else {
        assert.deepEqual(result, {
          exitCode: undefined,
          error:
            "error executing remote command: command terminated with non-zero exit code: error executing command [sh -c test], exit code 3",
        });
      }
      await session.close();
    }
  });
});

Deno.test("an error outcome reaches the client as kubelet's internal error", async () => {
  await withServer({ failing }, async ({ port }) => {
    const { session, protocol } = await execSession(port, "stdout=1&cmd=failing");
    const client = await RemoteCommandClient.open(session, protocol, {
      stdin: false,
      stdout: true,
      stderr: false,
      tty: false,
    });
    assert.deepEqual(await client.result(), {
      exitCode: undefined,
      error: "Internal error occurred: container is not running",
    });
    await session.close();
  });
});

Deno.test("resize messages arrive in order with a TTY (and stderr is not a stream of its own)", async () => {
  const sizes: Array<{ width: number; height: number }> = [];
  const resizer: Command = async (cmd) => {
    assert.equal(cmd.stderr, undefined);
    for await (const size of cmd.resize!) {
      sizes.push(size);
      if (sizes.length === 3) break;
    }
    await cmd.stdout!.write(new TextEncoder().encode("resized\r\n"));
    await cmd.finish({ kind: "exit", exitCode: 0 });
  };
  await withServer({ resizer }, async ({ port }) => {
    const { session, protocol } = await execSession(port, "stdin=1&stdout=1&stderr=1&tty=1&cmd=resizer");
    const client = await RemoteCommandClient.open(session, protocol, {
      stdin: true,
      stdout: true,
      stderr: true,
      tty: true,
    });
    await client.resize(80, 24);
    await client.resize(120, 40);
    await client.resize(200, 50);
    assert.equal(new TextDecoder().decode(await client.readOutput("stdout")), "resized\r\n");
    assert.deepEqual(await client.result(), { exitCode: 0, error: undefined });
    assert.deepEqual(sizes, [{ width: 80, height: 24 }, { width: 120, height: 40 }, { width: 200, height: 50 }]);
    await session.close();
  });
});

Deno.test("256 MiB through stdout arrive whole, with back-pressure", async () => {
  const total = 256 * MiB;
  const block = Buffer.alloc(MiB);
  for (let i = 0; i < block.length; i++) block[i] = i % 251;
  const producer: Command = async (cmd) => {
    for (let sent = 0; sent < total; sent += block.length) await cmd.stdout!.write(block);
    await cmd.finish({ kind: "exit", exitCode: 0 });
  };
  await withServer({ producer }, async ({ port }) => {
    const { session, protocol } = await execSession(port, "stdout=1&cmd=producer");
    const client = await RemoteCommandClient.open(session, protocol, {
      stdin: false,
      stdout: true,
      stderr: false,
      tty: false,
    });
    const start = performance.now();
    let received = 0;
    let mismatch = -1;
    for await (const chunk of client.streams.get("stdout")!) {
      // Compare with the block, which repeats every MiB (chunks may straddle two blocks).
      for (let at = 0; at < chunk.length && mismatch < 0;) {
        const inBlock = (received + at) % MiB;
        const take = Math.min(chunk.length - at, MiB - inBlock);
        if (Buffer.compare(chunk.subarray(at, at + take), block.subarray(inBlock, inBlock + take)) !== 0) {
          mismatch = received + at;
        }
        at += take;
      }
      received += chunk.length;
    }
    const seconds = (performance.now() - start) / 1000;
    console.log(`stdout: 256 MiB in ${seconds.toFixed(2)} s, ${(256 / seconds).toFixed(0)} MiB/s`);
    assert.equal(received, total);
    assert.equal(mismatch, -1);
    assert.deepEqual(await client.result(), { exitCode: 0, error: undefined });
    await session.close();
  });
});

Deno.test("256 MiB through a port-forward data stream, echoed back: both directions at once", async () => {
  await withServer({}, async ({ port, serverErrors }) => {
    const dial = await dialSpdy(port, "/portforward", PORT_FORWARD_PROTOCOLS);
    assert.equal(dial.status, 101);
    const session = dial.session!;
    const { data, errorText } = await openForward(session, 80, 0);
    const total = 256 * MiB;
    const block = Buffer.alloc(256 * 1024, 7);
    const start = performance.now();
    const writer = (async () => {
      for (let sent = 0; sent < total; sent += block.length) await data.write(block);
      await data.end();
    })();
    let received = 0;
    for await (const chunk of data) received += chunk.length;
    await writer;
    const seconds = (performance.now() - start) / 1000;
    console.log(`port-forward echo: 256 MiB each way in ${seconds.toFixed(2)} s, ${(256 / seconds).toFixed(0)} MiB/s`);
    assert.equal(received, total);
    assert.equal(await errorText, "");
    await session.close();
    assert.deepEqual(serverErrors, []);
  });
});

Deno.test("20 concurrent port-forward connections in one session each get their own bytes back", async () => {
  await withServer({}, async ({ port, serverErrors }) => {
    const dial = await dialSpdy(port, "/portforward", PORT_FORWARD_PROTOCOLS);
    const session = dial.session!;
    const results = await Promise.all(Array.from({ length: 20 }, async (_, i) => {
      const { data, errorText } = await openForward(session, 80, i);
      const payload = Buffer.alloc(100_000 + i * 1000, i);
      const echoed = readAll(data);
      await data.write(payload.subarray(0, 50_000));
      await data.write(payload.subarray(50_000));
      await data.end();
      const back = await echoed;
      return { same: Buffer.compare(Buffer.from(back), payload) === 0, error: await errorText };
    }));
    assert.deepEqual(results, Array.from({ length: 20 }, () => ({ same: true, error: "" })));
    await session.close();
    assert.deepEqual(serverErrors, []);
  });
});

Deno.test("a forwarded connection that fails tells the client on its error stream", async () => {
  await withServer({}, async ({ port }) => {
    const dial = await dialSpdy(port, "/portforward", PORT_FORWARD_PROTOCOLS);
    const session = dial.session!;
    const { data, errorText } = await openForward(session, 81, 0);
    assert.equal((await readAll(data)).length, 0);
    assert.equal(await errorText, "no listener on port 81");
    // A second connection on the same session still works.
    const counted = await openForward(session, 82, 1);
    await counted.data.write(new Uint8Array(12345));
    await counted.data.end();
    assert.equal(new TextDecoder().decode(await readAll(counted.data)), "12345");
    await session.close();
  });
});

Deno.test("a malformed frame closes that session while the server keeps serving others", async () => {
  await withServer({ echo }, async ({ port, sessions }) => {
    const good = await dialSpdy(port, "/portforward", PORT_FORWARD_PROTOCOLS);
    // A raw client that upgrades, then sends a control frame of version 2.
    const badSocket = net.connect(port, "127.0.0.1");
    badSocket.on("error", () => {});
    await new Promise((resolve) => badSocket.once("connect", resolve));
    badSocket.write(
      "POST /portforward HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n" +
        "X-Stream-Protocol-Version: portforward.k8s.io\r\n\r\n",
    );
    const badHeader = encodeControlHeader(1, 0, 10);
    badHeader[1] = 2; // SPDY/2
    const seen: Buffer[] = [];
    badSocket.on("data", (chunk: Buffer) => seen.push(chunk));
    const closed = new Promise((resolve) => badSocket.once("close", resolve));
    setTimeout(() => badSocket.write(Buffer.concat([badHeader, new Uint8Array(10)])), 50);
    await closed;
    const answer = Buffer.concat(seen);
    const goaway = answer.subarray(answer.indexOf("\r\n\r\n") + 4);
    // GOAWAY (type 7) with status PROTOCOL_ERROR (1).
    assert.deepEqual([...goaway.subarray(0, 4)], [0x80, 3, 0, 7]);
    assert.equal(goaway.readUInt32BE(12), 1);
    const badServer = sessions[1]!;
    assert.equal(badServer.closed.aborted, true);
    assert.match(String(badServer.closed.reason), /version 2/);
    // The other session still forwards.
    const { data } = await openForward(good.session!, 80, 0);
    await data.write(new TextEncoder().encode("still here"));
    await data.end();
    assert.equal(new TextDecoder().decode(await readAll(data)), "still here");
    await good.session!.close();
  });
});

Deno.test("a command learns that the client went away: closed aborts and stdin ends", async () => {
  let resolveSeen: (seen: { stdinEnded: boolean; closed: boolean }) => void = () => {};
  const seen = new Promise<{ stdinEnded: boolean; closed: boolean }>((resolve) => resolveSeen = resolve);
  const waiter: Command = async (cmd) => {
    // Bounded: a server that never notices fails the test instead of hanging it.
    const stdinEnded = await orAfter(readAll(cmd.stdin!).then(() => true), 5_000, false);
    const closed = cmd.closed.aborted ||
      await orAfter(
        new Promise<true>((resolve) => cmd.closed.addEventListener("abort", () => resolve(true))),
        5_000,
        false,
      );
    await cmd.finish({ kind: "exit", exitCode: 0 });
    resolveSeen({ stdinEnded, closed });
  };
  await withServer({ waiter }, async ({ port, serverErrors }) => {
    const { session, protocol } = await execSession(port, "stdin=1&stdout=1&cmd=waiter");
    const client = await RemoteCommandClient.open(session, protocol, {
      stdin: true,
      stdout: true,
      stderr: false,
      tty: false,
    });
    await client.writeStdin("some input, then the client vanishes");
    session.destroy();
    assert.deepEqual(await seen, { stdinEnded: true, closed: true });
    assert.deepEqual(serverErrors, [], "finishing a session whose client is gone is no error");
  });
});

Deno.test("the client's PING is answered over a real connection", async () => {
  await withServer({}, async ({ port }) => {
    const dial = await dialSpdy(port, "/portforward", PORT_FORWARD_PROTOCOLS);
    const rtt = await dial.session!.ping();
    assert.ok(rtt >= 0 && rtt < 5000);
    await dial.session!.close();
  });
});

/** `promise`'s value, or `fallback` if it has not settled after `ms`. */
async function orAfter<T, F>(promise: Promise<T>, ms: number, fallback: F): Promise<T | F> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<F>((resolve) => timer = setTimeout(() => resolve(fallback), ms));
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}
