import * as grpc from "@grpc/grpc-js";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import net from "node:net";
import { CriError } from "../src/errors.ts";
import { FrameType } from "../src/grpc/h2_frames.ts";
import { field, firstGrpcMessage, grpcStatus, RawH2Client } from "./harness/h2.ts";
import { listenUnix, type UnixListener } from "../src/grpc/unix_listener.ts";

const ECHO_PATH = "/test.Echo/Echo";
const passthrough = (b: Buffer) => b;
const echoService: grpc.ServiceDefinition = {
  Echo: {
    path: ECHO_PATH,
    requestStream: false,
    responseStream: false,
    requestSerialize: passthrough,
    requestDeserialize: passthrough,
    responseSerialize: passthrough,
    responseDeserialize: passthrough,
  },
};

interface Fixture {
  dir: string;
  socketPath: string;
  server: grpc.Server;
  listener: UnixListener;
  errors: Error[];
  /** Most handler calls running at once so far. */
  peakInFlight: () => number;
}

// An echo server whose handler waits `delay:<ms>` when the request says so.
async function withServer(fn: (fx: Fixture) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "cri-listener-" });
  const socketPath = `${dir}/cri.sock`;
  const server = new grpc.Server();
  let inFlight = 0;
  let peak = 0;
  server.addService(echoService, {
    Echo: (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
      peak = Math.max(peak, ++inFlight);
      const reply = () => {
        inFlight--;
        callback(null, call.request);
      };
      const match = /^delay:(\d+)$/.exec(call.request.toString());
      if (match) {
        const timer = setTimeout(reply, Number(match[1]));
        // A call cut by close() never replies: its timer must not outlive the test.
        call.on("cancelled", () => clearTimeout(timer));
      } else reply();
    },
  });
  const errors: Error[] = [];
  const listener = await listenUnix(server, socketPath, { onConnectionError: (err) => errors.push(err) });
  try {
    await fn({ dir, socketPath, server, listener, errors, peakInFlight: () => peak });
  } finally {
    await listener.close({ graceMs: 100 });
    await Deno.remove(dir, { recursive: true });
  }
}

type EchoClient = grpc.Client & {
  Echo(req: Buffer, cb: (err: grpc.ServiceError | null, res?: Buffer) => void): void;
};
const EchoClient = grpc.makeGenericClientConstructor(echoService, "Echo");

// Each client gets its own connection: grpc-js otherwise shares one among clients of the same target.
function grpcClient(socketPath: string): EchoClient {
  const options = { "grpc.use_local_subchannel_pool": 1 };
  return new EchoClient(`unix://${socketPath}`, grpc.credentials.createInsecure(), options) as unknown as EchoClient;
}

function echo(client: EchoClient, message: string): Promise<string> {
  return new Promise((resolve, reject) => {
    client.Echo(Buffer.from(message), (err, res) => err ? reject(err) : resolve(res!.toString()));
  });
}

// A raw unary call with the socket path as :authority, as crictl and kubelet ≤ 1.29 send it.
async function rawEcho(client: RawH2Client, socketPath: string, message: string): Promise<string> {
  const result = await client.unary(ECHO_PATH, socketPath, new TextEncoder().encode(message));
  assert.equal(result.resetCode, undefined);
  assert.equal(grpcStatus(result), "0", `grpc-message: ${field(result.trailers, "grpc-message")}`);
  return new TextDecoder().decode(firstGrpcMessage(result.data));
}

async function waitFor(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("Condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

Deno.test("listenUnix() answers a request whose :authority is the socket path", async () => {
  await withServer(async ({ socketPath, listener }) => {
    const client = await RawH2Client.connect(socketPath);
    try {
      const result = await client.unary(ECHO_PATH, socketPath, new TextEncoder().encode("hello"));
      assert.equal(field(result.headers, ":status"), "200");
      assert.equal(field(result.headers, "content-type"), "application/grpc+proto");
      assert.equal(grpcStatus(result), "0");
      assert.equal(new TextDecoder().decode(firstGrpcMessage(result.data)), "hello");
      assert.equal(listener.stats.authoritiesRewritten, 1);
    } finally {
      await client.end(); // resolves once the server has closed its side after the client's EOF
    }
    await waitFor(() => listener.openConnections === 0);
  });
});

Deno.test("a grpc-js server bound directly on unix:// refuses the socket path as :authority", async () => {
  // Why the listener exists: nghttp2 in Deno's node:http2 rejects the '/' in a socket-path :authority (ARCHITECTURE.md).
  const dir = await Deno.makeTempDir({ prefix: "cri-direct-" });
  const socketPath = `${dir}/direct.sock`;
  const server = new grpc.Server();
  server.addService(echoService, {
    Echo: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => cb(null, call.request),
  });
  try {
    await new Promise<void>((resolve, reject) =>
      server.bindAsync(
        `unix://${socketPath}`,
        grpc.ServerCredentials.createInsecure(),
        (e) => e ? reject(e) : resolve(),
      )
    );
    const client = await RawH2Client.connect(socketPath);
    const outcome = await client.unary(ECHO_PATH, socketPath, new TextEncoder().encode("x")).then(
      (result) => grpcStatus(result) === "0" ? "answered" : "refused",
      () => "refused",
    );
    client.destroy();
    assert.equal(outcome, "refused");
    const goaway = client.connectionFrames.find((f) => f.type === FrameType.GOAWAY);
    assert.ok(goaway, "the server answers with GOAWAY");
    assert.equal(new DataView(goaway.payload.buffer, goaway.payload.byteOffset).getUint32(4), 1, "PROTOCOL_ERROR");
  } finally {
    server.forceShutdown();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("listenUnix() serves 1,000 calls on one connection, survives the client's GOAWAY, then serves again", async () => {
  await withServer(async ({ socketPath, listener }) => {
    const client = grpcClient(socketPath);
    for (let i = 0; i < 1000; i++) assert.equal(await echo(client, `m${i}`), `m${i}`);
    client.close(); // grpc-js sends GOAWAY and closes
    await waitFor(() => listener.openConnections === 0);
    const again = grpcClient(socketPath);
    try {
      assert.equal(await echo(again, "after"), "after");
    } finally {
      again.close();
    }
  });
});

Deno.test("listenUnix() drops a raw client's GOAWAY after 300 streams and keeps serving", async () => {
  await withServer(async ({ socketPath, listener }) => {
    // Without the listener, these 3 rounds of 300 streams + GOAWAY(last stream 0) aborted 5 of 6 Deno 2.9.6 runs.
    for (let round = 1; round <= 3; round++) {
      const client = await RawH2Client.connect(socketPath);
      for (let i = 0; i < 300; i++) assert.equal(await rawEcho(client, socketPath, `r${i}`), `r${i}`);
      client.sendGoaway(0);
      await waitFor(() => listener.stats.goawaysDropped === round);
      client.destroy();
      await client.closed;
    }
    const next = await RawH2Client.connect(socketPath);
    try {
      assert.equal(await rawEcho(next, socketPath, "still here"), "still here");
    } finally {
      await next.end();
    }
  });
});

Deno.test("listenUnix() answers 50 concurrent calls on each of 4 connections", async () => {
  await withServer(async ({ socketPath, listener, peakInFlight }) => {
    const raw = await Promise.all([RawH2Client.connect(socketPath), RawH2Client.connect(socketPath)]);
    const clients = [grpcClient(socketPath), grpcClient(socketPath)];
    try {
      const calls: Promise<void>[] = [];
      for (let i = 0; i < 50; i++) {
        const message = `delay:${20 + i % 5}`;
        for (const c of raw) calls.push(rawEcho(c, socketPath, message).then((r) => assert.equal(r, message)));
        for (const c of clients) calls.push(echo(c, message).then((r) => assert.equal(r, message)));
      }
      await Promise.all(calls);
      assert.equal(listener.openConnections, 4);
      assert.ok(peakInFlight() > 4, `calls overlapped: at most ${peakInFlight()} at once`);
    } finally {
      clients.forEach((c) => c.close());
      await Promise.all(raw.map((c) => c.end()));
    }
  });
});

Deno.test("UnixListener.close() lets a call in flight finish, then removes the socket file", async () => {
  await withServer(async ({ socketPath, listener }) => {
    const client = await RawH2Client.connect(socketPath);
    const inFlight = rawEcho(client, socketPath, "delay:200").catch((err: Error) => err.message);
    await waitFor(() => listener.stats.headerBlocks === 1);
    const started = Date.now();
    await listener.close({ graceMs: 5000 });
    assert.equal(await inFlight, "delay:200");
    assert.ok(Date.now() - started < 4000);
    await assert.rejects(Deno.lstat(socketPath), Deno.errors.NotFound);
    await assert.rejects(RawH2Client.connect(socketPath), /ENOENT|ECONNREFUSED/);
    assert.equal(listener.openConnections, 0);
    await client.closed;
  });
});

Deno.test("UnixListener.close() cancels calls still running after graceMs", async () => {
  await withServer(async ({ socketPath, listener }) => {
    const client = await RawH2Client.connect(socketPath);
    const inFlight = client.unary(ECHO_PATH, socketPath, new TextEncoder().encode("delay:3000")).then(
      (result) => result.resetCode !== undefined ? "reset" : `status ${grpcStatus(result)}`,
      () => "closed",
    );
    await waitFor(() => listener.stats.headerBlocks === 1);
    const started = Date.now();
    await listener.close({ graceMs: 100 });
    assert.ok(Date.now() - started < 2000, `close took ${Date.now() - started} ms`);
    assert.notEqual(await inFlight, "status 0");
  });
});

Deno.test("UnixListener.close() ends idle connections at once and is idempotent", async () => {
  await withServer(async ({ socketPath, listener }) => {
    const silent = net.connect(socketPath); // never sends the preface: grpc-js does not know it
    silent.on("error", () => {});
    const silentClosed = new Promise((resolve) => silent.on("close", resolve));
    const idle = await RawH2Client.connect(socketPath);
    assert.equal(await rawEcho(idle, socketPath, "once"), "once");
    await waitFor(() => listener.openConnections === 2);
    const started = Date.now();
    const closing = listener.close({ graceMs: 5000 });
    assert.equal(listener.close(), closing);
    await closing;
    assert.ok(Date.now() - started < 2000, `close took ${Date.now() - started} ms`);
    await Promise.all([silentClosed, idle.closed]);
  });
});

Deno.test("listenUnix() survives bytes that are not HTTP/2, and the next connection works", async () => {
  await withServer(async ({ socketPath, listener, errors }) => {
    for (const garbage of ["GET / HTTP/1.1\r\nHost: x\r\n\r\n", "\x16\x03\x01\x00\xff" + "z".repeat(5000)]) {
      const socket = net.connect(socketPath);
      socket.on("error", () => {});
      socket.write(garbage);
      await new Promise((resolve) => socket.on("close", resolve));
    }
    // A valid preface followed by a broken frame sequence.
    const broken = await RawH2Client.connect(socketPath);
    broken.sendRaw(Uint8Array.of(0, 0, 1, 9, 4, 0, 0, 0, 1, 0)); // CONTINUATION with no HEADERS
    await broken.closed;
    assert.equal(errors.length, 3);
    assert.equal(listener.stats.connectionErrors, 3);
    const client = grpcClient(socketPath);
    try {
      assert.equal(await echo(client, "fine"), "fine");
    } finally {
      client.close();
    }
  });
});

Deno.test("listenUnix() refuses a socket another server is listening on", async () => {
  await withServer(async ({ socketPath }) => {
    await assert.rejects(listenUnix(new grpc.Server(), socketPath), (err: unknown) => {
      assert.ok(err instanceof CriError);
      assert.equal(err.code, "AlreadyExists");
      return true;
    });
    assert.ok((await Deno.lstat(socketPath)).isSocket);
  });
});

Deno.test("listenUnix() sets the socket file to mode 0660", async () => {
  await withServer(async ({ socketPath }) => {
    assert.equal((await Deno.lstat(socketPath)).mode! & 0o777, 0o660);
  });
});
