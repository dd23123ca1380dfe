/**
 * servePortForward on in-memory fakes: a session whose connections the test opens, and a forwarder whose pod
 * connections the test feeds and reads. No sockets, no processes; the real forwarder is tested in
 * tests/port_forward_test.ts.
 */
import assert from "node:assert/strict";
import type { PodConnection, PodConnectResult, PodPortForwarder } from "./pod_ports.ts";
import { servePortForward } from "./port_forward.ts";
import type { ForwardedConnection, OutputStream, PortForwardSession } from "./session.ts";

const bytes = (text: string) => new TextEncoder().encode(text);
const text = (chunks: readonly Uint8Array[]) => new TextDecoder().decode(concat(chunks));

function concat(chunks: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.length;
  }
  return out;
}

/** Lets every pending promise callback run (the fakes settle synchronously or on a microtask). */
async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve();
}

/** A push-fed async iterable that counts how often it was pulled and whether it was returned early. */
class Feed<T> implements AsyncIterable<T> {
  readonly #items: T[] = [];
  #ended = false;
  #wake: (() => void) | undefined;
  pulls = 0;
  returned = false;
  push(item: T): void {
    this.#items.push(item);
    this.#wake?.();
  }
  end(): void {
    this.#ended = true;
    this.#wake?.();
  }
  [Symbol.asyncIterator](): AsyncIterator<T> {
    return {
      next: async () => {
        this.pulls++;
        for (;;) {
          if (this.#items.length > 0) return { value: this.#items.shift()!, done: false };
          if (this.#ended) return { value: undefined, done: true };
          await new Promise<void>((resolve) => this.#wake = resolve);
          this.#wake = undefined;
        }
      },
      return: () => {
        this.returned = true;
        this.end();
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }
}

/** The client's side of one forwarded connection. */
class FakeConnection implements ForwardedConnection {
  readonly fromClient = new Feed<Uint8Array>();
  readonly received: Uint8Array[] = [];
  readonly dropped = new AbortController();
  readonly closed = this.dropped.signal;
  failed: string | undefined;
  toClientClosed = false;
  /** When set, each write to the client waits for the test to call the returned resolver. */
  gateWrites = false;
  readonly pendingWrites: Array<() => void> = [];
  readonly toClient: OutputStream;
  constructor(readonly port: number) {
    this.toClient = {
      write: (chunk) => {
        this.received.push(chunk.slice());
        if (!this.gateWrites) return Promise.resolve();
        const { promise, resolve } = Promise.withResolvers<void>();
        this.pendingWrites.push(resolve);
        return promise;
      },
      close: () => {
        this.toClientClosed = true;
        return Promise.resolve();
      },
    };
  }
  fail(message: string): Promise<void> {
    this.failed = message;
    this.toClientClosed = true;
    return Promise.resolve();
  }
}

/** The pod's side of one connection: what the pod sends is fed by the test, what it receives is recorded. */
class FakePod implements PodConnection {
  readonly fromPod = new Feed<Uint8Array>();
  readonly #pending: Uint8Array[] = [];
  readonly #iterator = this.fromPod[Symbol.asyncIterator]();
  readonly written: Uint8Array[] = [];
  writeClosed = false;
  closed = false;
  reads = 0;
  /** When set, each write waits for the test to call the returned resolver. */
  gateWrites = false;
  readonly pendingWrites: Array<() => void> = [];
  readonly #closedSignal = Promise.withResolvers<never>();
  /** Makes the next read fail as a reset would. */
  resetNextRead = false;
  constructor() {
    this.#closedSignal.promise.catch(() => {});
  }
  async read(buffer: Uint8Array): Promise<number | null> {
    this.reads++;
    if (this.closed) throw new Error("closed");
    if (this.resetNextRead) throw new Error("connection reset by peer");
    if (this.#pending.length === 0) {
      const next = await Promise.race([this.#iterator.next(), this.#closedSignal.promise]);
      if (next.done) return null;
      this.#pending.push(next.value);
    }
    const chunk = this.#pending.shift()!;
    const n = Math.min(buffer.length, chunk.length);
    buffer.set(chunk.subarray(0, n));
    if (n < chunk.length) this.#pending.unshift(chunk.subarray(n));
    return n;
  }
  write(chunk: Uint8Array): Promise<void> {
    if (this.closed || this.writeClosed) return Promise.reject(new Error("broken pipe"));
    this.written.push(chunk.slice());
    if (!this.gateWrites) return Promise.resolve();
    const { promise, resolve } = Promise.withResolvers<void>();
    this.pendingWrites.push(resolve);
    return Promise.race([promise, this.#closedSignal.promise]);
  }
  closeWrite(): Promise<void> {
    this.writeClosed = true;
    return Promise.resolve();
  }
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.#closedSignal.reject(new Error("closed"));
  }
}

/** A forwarder that hands out FakePods, or refuses ports listed in `refused`. */
class FakeForwarder implements PodPortForwarder {
  readonly pods: FakePod[] = [];
  readonly signals: AbortSignal[] = [];
  readonly refused = new Map<number, string>();
  closed = false;
  failure: string | undefined;
  /** When set, connect waits for the test to call the returned resolver. */
  hold: Promise<void> | undefined;
  async connect(port: number, signal?: AbortSignal): Promise<PodConnectResult> {
    if (signal) this.signals.push(signal);
    if (this.hold) await this.hold;
    if (signal?.aborted) return { ok: false, message: "canceled" };
    const message = this.refused.get(port);
    if (message !== undefined) return { ok: false, message };
    const pod = new FakePod();
    this.pods.push(pod);
    return { ok: true, connection: pod };
  }
  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }
}

/** A session the test opens connections on. */
function fakeSession(ports: number[] = [80]) {
  const connections = new Feed<ForwardedConnection>();
  const gone = new AbortController();
  const session: PortForwardSession = {
    ports,
    connections,
    closed: gone.signal,
    close: () => {
      gone.abort();
      connections.end();
      return Promise.resolve();
    },
  };
  return {
    session,
    connections,
    open(port: number): FakeConnection {
      const conn = new FakeConnection(port);
      connections.push(conn);
      return conn;
    },
    /** The client goes away. */
    vanish: () => gone.abort(),
  };
}

Deno.test("servePortForward copies both ways and half-closes each side", async () => {
  const fake = fakeSession();
  const forwarder = new FakeForwarder();
  const serving = servePortForward(fake.session, forwarder);
  const conn = fake.open(80);
  await settle();
  const pod = forwarder.pods[0]!;

  conn.fromClient.push(bytes("GET / HTTP/1.0\r\n\r\n"));
  conn.fromClient.end();
  await settle();
  assert.equal(text(pod.written), "GET / HTTP/1.0\r\n\r\n");
  assert.equal(pod.writeClosed, true, "the client's EOF half-closes the pod side");
  assert.equal(conn.toClientClosed, false, "the answer may still come");

  pod.fromPod.push(bytes("HTTP/1.0 200 OK\r\n\r\n"));
  pod.fromPod.push(bytes("hello"));
  pod.fromPod.end();
  await settle();
  assert.equal(text(conn.received), "HTTP/1.0 200 OK\r\n\r\nhello");
  assert.equal(conn.toClientClosed, true);
  assert.equal(pod.closed, true);

  fake.connections.end();
  await serving;
  assert.equal(forwarder.closed, true, "servePortForward owns the forwarder");
});

Deno.test("the pod's EOF ends only its direction: the client's bytes still reach the pod", async () => {
  const fake = fakeSession();
  const forwarder = new FakeForwarder();
  const serving = servePortForward(fake.session, forwarder);
  const conn = fake.open(80);
  await settle();
  const pod = forwarder.pods[0]!;
  pod.fromPod.push(bytes("banner"));
  pod.fromPod.end();
  await settle();
  assert.equal(conn.toClientClosed, true);
  conn.fromClient.push(bytes("late"));
  conn.fromClient.end();
  await settle();
  assert.equal(text(pod.written), "late");
  assert.equal(pod.writeClosed, true);
  fake.connections.end();
  await serving;
});

Deno.test("a refused port fails the connection with the forwarder's message, in kubelet's words with a sandbox", async () => {
  const fake = fakeSession([80, 81]);
  const forwarder = new FakeForwarder();
  forwarder.refused.set(81, "failed to connect to localhost:81 inside the pod: connection refused");
  const serving = servePortForward(fake.session, forwarder, { sandboxId: "abc123" });
  const refused = fake.open(81);
  const fine = fake.open(80);
  fake.connections.end();
  await settle();
  assert.equal(
    refused.failed,
    "error forwarding port 81 to pod abc123, uid : failed to connect to localhost:81 inside the pod: connection refused",
  );
  assert.equal(fine.failed, undefined);
  // The other connection is unaffected and still open.
  assert.equal(forwarder.pods.length, 1);
  fine.fromClient.end();
  forwarder.pods[0]!.fromPod.end();
  await serving;
});

Deno.test("a forwarder that failed to start fails every connection with its message", async () => {
  const fake = fakeSession();
  const serving = servePortForward(
    fake.session,
    Promise.reject(new Error("Cannot start the port-forward helper: it ended with exit code 1")),
  );
  const a = fake.open(80);
  const b = fake.open(81);
  fake.connections.end();
  await serving;
  assert.equal(a.failed, "Cannot start the port-forward helper: it ended with exit code 1");
  assert.equal(b.failed, a.failed);
});

Deno.test("a forwarder still starting is awaited by the connections", async () => {
  const fake = fakeSession();
  const forwarder = new FakeForwarder();
  const starting = Promise.withResolvers<PodPortForwarder>();
  const serving = servePortForward(fake.session, starting.promise);
  const conn = fake.open(80);
  await settle();
  starting.resolve(forwarder);
  await settle();
  assert.equal(forwarder.pods.length, 1);
  conn.fromClient.end();
  forwarder.pods[0]!.fromPod.end();
  fake.connections.end();
  await serving;
  assert.equal(forwarder.closed, true);
});

Deno.test("back-pressure to the pod: nothing more is read while the client's write is pending", async () => {
  const fake = fakeSession();
  const forwarder = new FakeForwarder();
  const serving = servePortForward(fake.session, forwarder);
  const conn = fake.open(80);
  conn.gateWrites = true;
  await settle();
  const pod = forwarder.pods[0]!;
  for (let i = 0; i < 5; i++) pod.fromPod.push(bytes(`chunk${i};`));
  await settle();
  assert.equal(pod.reads, 1, "one read, then the write to the slow client");
  assert.equal(conn.received.length, 1);
  conn.pendingWrites.shift()!();
  await settle();
  assert.equal(pod.reads, 2);
  assert.equal(conn.received.length, 2);
  // Let the rest through.
  conn.gateWrites = false;
  conn.pendingWrites.shift()!();
  pod.fromPod.end();
  conn.fromClient.end();
  await settle();
  assert.equal(text(conn.received), "chunk0;chunk1;chunk2;chunk3;chunk4;");
  fake.connections.end();
  await serving;
});

Deno.test("back-pressure to the client: the next chunk is pulled only once the pod took the last", async () => {
  const fake = fakeSession();
  const forwarder = new FakeForwarder();
  const serving = servePortForward(fake.session, forwarder);
  const conn = fake.open(80);
  await settle();
  const pod = forwarder.pods[0]!;
  pod.gateWrites = true;
  for (let i = 0; i < 5; i++) conn.fromClient.push(bytes(`c${i}`));
  await settle();
  assert.equal(conn.fromClient.pulls, 1);
  assert.equal(pod.written.length, 1);
  pod.pendingWrites.shift()!();
  await settle();
  assert.equal(conn.fromClient.pulls, 2);
  pod.gateWrites = false;
  pod.pendingWrites.shift()!();
  conn.fromClient.end();
  pod.fromPod.end();
  await settle();
  assert.equal(text(pod.written), "c0c1c2c3c4");
  fake.connections.end();
  await serving;
});

Deno.test("large transfers arrive whole in chunks of at most chunkBytes", async () => {
  const fake = fakeSession();
  const forwarder = new FakeForwarder();
  const serving = servePortForward(fake.session, forwarder, { chunkBytes: 1000 });
  const conn = fake.open(80);
  await settle();
  const pod = forwarder.pods[0]!;
  const big = crypto.getRandomValues(new Uint8Array(60_000));
  pod.fromPod.push(big.subarray(0, 25_000));
  pod.fromPod.push(big.subarray(25_000));
  pod.fromPod.end();
  conn.fromClient.end();
  fake.connections.end();
  await serving;
  assert.deepEqual(concat(conn.received), big);
  assert.ok(conn.received.every((c) => c.length <= 1000));
});

Deno.test("the session closing ends every connection, their waits included, and closes the forwarder", async () => {
  const fake = fakeSession([80, 81]);
  const forwarder = new FakeForwarder();
  const serving = servePortForward(fake.session, forwarder);
  const a = fake.open(80);
  const b = fake.open(81);
  b.gateWrites = true;
  await settle();
  const [podA, podB] = forwarder.pods;
  podB!.fromPod.push(bytes("stuck")); // b's write to the client never completes
  await settle();
  fake.vanish(); // the connections feed never ends: servePortForward must not wait for it
  await serving;
  assert.equal(podA!.closed, true);
  assert.equal(podB!.closed, true);
  assert.equal(a.fromClient.returned, true, "a wait for the client's next chunk was abandoned");
  assert.equal(forwarder.closed, true);
});

Deno.test("a connection the client drops ends alone", async () => {
  const fake = fakeSession([80, 81]);
  const forwarder = new FakeForwarder();
  const serving = servePortForward(fake.session, forwarder);
  const a = fake.open(80);
  const b = fake.open(81);
  await settle();
  a.dropped.abort();
  await settle();
  assert.equal(forwarder.pods[0]!.closed, true);
  assert.equal(forwarder.pods[1]!.closed, false);
  b.fromClient.end();
  forwarder.pods[1]!.fromPod.end();
  fake.connections.end();
  await serving;
});

Deno.test("a reset on the pod side ends both directions", async () => {
  const fake = fakeSession();
  const forwarder = new FakeForwarder();
  const serving = servePortForward(fake.session, forwarder);
  const conn = fake.open(80);
  await settle();
  const pod = forwarder.pods[0]!;
  pod.resetNextRead = true;
  pod.fromPod.push(bytes("x")); // wakes the pending read, which now fails
  await settle();
  // The first read was already waiting; the next one fails.
  await settle();
  assert.equal(pod.closed, true);
  assert.equal(conn.toClientClosed, true);
  assert.equal(conn.fromClient.returned, true);
  fake.connections.end();
  await serving;
});

Deno.test("a write to the pod that fails ends both directions", async () => {
  const fake = fakeSession();
  const forwarder = new FakeForwarder();
  const serving = servePortForward(fake.session, forwarder);
  const conn = fake.open(80);
  await settle();
  const pod = forwarder.pods[0]!;
  await pod.closeWrite(); // writes now fail like a broken pipe
  conn.fromClient.push(bytes("data"));
  await settle();
  assert.equal(pod.closed, true);
  assert.equal(conn.toClientClosed, true);
  fake.connections.end();
  await serving;
});

Deno.test("a connection dropped while connecting is neither failed nor copied", async () => {
  const fake = fakeSession();
  const forwarder = new FakeForwarder();
  const hold = Promise.withResolvers<void>();
  forwarder.hold = hold.promise;
  const serving = servePortForward(fake.session, forwarder);
  const conn = fake.open(80);
  await settle();
  assert.equal(forwarder.signals.length, 1);
  conn.dropped.abort();
  assert.equal(forwarder.signals[0]!.aborted, true, "connect() sees the client's drop");
  hold.resolve();
  fake.connections.end();
  await serving;
  assert.equal(conn.failed, undefined);
  assert.equal(forwarder.pods.length, 0);
});
