/**
 * The libpod event stream: the line splitter and parser (table cases), the stream's connection behaviour against a
 * scripted stand-in socket, and the real thing on rootless Podman (lifecycles, latency, a SIGKILLed service).
 */
import assert from "node:assert/strict";
import { silentLogger } from "../observability/log.ts";
import {
  EventLineSplitter,
  parseEventLine,
  type PodmanEvent,
  type PodmanEventHandlers,
  PodmanEventStream,
} from "./events.ts";
import { run } from "../../tests/harness/_process.ts";
import { BUSYBOX_IMAGE, ensureBusyboxImage } from "../../tests/harness/busybox_image.ts";
import { type PodmanService, startPodmanService } from "../../tests/harness/podman_service.ts";
import { makeTempDir, uniqueName } from "../../tests/harness/temp.ts";

/** A container event exactly as Podman 4.3.1 wrote it (`podman run --label foo=bar --label io.kubernetes.x=y`). */
const CONTAINER_START = '{"status":"start","id":"b610f42d90015dfccdfb0a658bb2dd63357845dda25335706c54b3dc2b1c11de",' +
  '"from":"localhost/cri-podman-test/busybox:latest","Type":"container","Action":"start","Actor":{"ID":' +
  '"b610f42d90015dfccdfb0a658bb2dd63357845dda25335706c54b3dc2b1c11de","Attributes":{"containerExitCode":"0",' +
  '"foo":"bar","image":"localhost/cri-podman-test/busybox:latest","io.kubernetes.x":"y","name":"evx-c1",' +
  '"podId":""}},"scope":"local","time":1795648988,"timeNano":1795648988046470472}';
/** A pod event as Podman 4.3.1 wrote it: no `from`, no labels. */
const POD_CREATE = '{"status":"create","id":"b677e76d6ee7f0d117975fc8974f22a581d8771192ebc1d7a0ef41e73bc32b69",' +
  '"Type":"pod","Action":"create","Actor":{"ID":"b677e76d6ee7f0d117975fc8974f22a581d8771192ebc1d7a0ef41e73bc32b69",' +
  '"Attributes":{"containerExitCode":"0","image":"","name":"evx-p1","podId":""}},"scope":"local",' +
  '"time":1795648990,"timeNano":1795648990874123828}';
/** An image event: empty Actor.ID. */
const IMAGE_PULL = '{"status":"pull","Type":"image","Action":"pull","Actor":{"ID":"","Attributes":' +
  '{"containerExitCode":"0","image":"","name":"localhost/x:latest","podId":""}},"scope":"local",' +
  '"time":1795648987,"timeNano":1795648987974441843}';

function event(line: string): PodmanEvent {
  const parsed = parseEventLine(line);
  if (!parsed.ok) throw new Error(`expected an event: ${parsed.reason}`);
  return parsed.event;
}

Deno.test("parseEventLine() reads the events Podman 4.3.1 sends", async (t) => {
  await t.step("parseEventLine() reads a container event with its labels and an exact timeNano", () => {
    assert.deepEqual(event(CONTAINER_START), {
      type: "container",
      action: "start",
      id: "b610f42d90015dfccdfb0a658bb2dd63357845dda25335706c54b3dc2b1c11de",
      name: "evx-c1",
      timeNano: 1795648988046470472n,
      attributes: {
        containerExitCode: "0",
        foo: "bar",
        image: "localhost/cri-podman-test/busybox:latest",
        "io.kubernetes.x": "y",
        name: "evx-c1",
        podId: "",
      },
    });
  });
  await t.step("parseEventLine() reads a pod event", () => {
    const e = event(POD_CREATE);
    assert.equal(e.type, "pod");
    assert.equal(e.action, "create");
    assert.equal(e.id, "b677e76d6ee7f0d117975fc8974f22a581d8771192ebc1d7a0ef41e73bc32b69");
    assert.equal(e.name, "evx-p1");
    assert.equal(e.timeNano, 1795648990874123828n);
  });
  await t.step("parseEventLine() keeps an empty id (image pull)", () => {
    const e = event(IMAGE_PULL);
    assert.equal(e.id, "");
    assert.equal(e.type, "image");
  });
});

Deno.test("parseEventLine() tolerates odd but valid input", async (t) => {
  const cases: [string, string, Partial<PodmanEvent>][] = [
    [
      "unknown fields at any depth",
      '{"Type":"container","Action":"x","new":{"a":[1,2]},"Actor":{"ID":"c1","Extra":1,"Attributes":{}},"timeNano":5}',
      { id: "c1", timeNano: 5n, attributes: {} },
    ],
    ["no Actor: id from `id`", '{"Type":"container","Action":"x","id":"c2","timeNano":7}', { id: "c2" }],
    ["`status` when Action is missing", '{"Type":"pod","status":"stop","Actor":{"ID":"p"},"time":3}', {
      action: "stop",
      timeNano: 3_000_000_000n,
    }],
    ["no name attribute: name left out", '{"Type":"pod","Action":"x","Actor":{"ID":"p"},"time":1}', {
      attributes: {},
    }],
    [
      "non-string attributes are dropped",
      '{"Type":"container","Action":"x","Actor":{"ID":"c","Attributes":{"a":1,"b":null,"c":"ok"}},"time":1}',
      { attributes: { c: "ok" } },
    ],
    [
      "a label named timeNano does not confuse the time",
      '{"Type":"container","Action":"x","Actor":{"ID":"c","Attributes":{"timeNano":"1"}},"timeNano":1795648990874123829}',
      { timeNano: 1795648990874123829n, attributes: { timeNano: "1" } },
    ],
    [
      "a label named __proto__ is an own property, not a prototype",
      '{"Type":"container","Action":"x","Actor":{"ID":"c","Attributes":{"__proto__":"v"}},"time":1}',
      { attributes: JSON.parse('{"__proto__":"v"}') },
    ],
    ["surrounding whitespace", '  {"Type":"pod","Action":"x","Actor":{"ID":"p"},"time":1}\r', { id: "p" }],
  ];
  for (const [what, line, want] of cases) {
    await t.step(`parseEventLine() accepts ${what}`, () => {
      const e = event(line);
      for (const [k, v] of Object.entries(want)) assert.deepEqual(e[k as keyof PodmanEvent], v, k);
      if (!("name" in want)) assert.equal(e.name, e.attributes["name"]);
    });
  }
});

Deno.test("parseEventLine() rejects lines that are not events, without throwing", async (t) => {
  const cases: [string, string, RegExp][] = [
    ["", "empty", /not JSON/],
    ["{", "truncated JSON", /not JSON/],
    [CONTAINER_START.slice(0, 100), "half an event", /not JSON/],
    ["hello", "text", /not JSON/],
    ["[]", "an array", /not a JSON object/],
    ["null", "null", /not a JSON object/],
    ["42", "a number", /not a JSON object/],
    ['{"Action":"start","time":1}', "no Type", /no Type/],
    ['{"Type":"container","time":1}', "no Action", /no Action/],
    ['{"Type":"container","Action":"","time":1}', "an empty Action", /no Action/],
    ['{"Type":"container","Action":"start"}', "no time", /no timeNano or time/],
    ['{"Type":1,"Action":"start","time":1}', "a numeric Type", /no Type/],
  ];
  for (const [line, what, reason] of cases) {
    await t.step(`parseEventLine() rejects ${what}`, () => {
      const parsed = parseEventLine(line);
      assert.equal(parsed.ok, false);
      if (!parsed.ok) assert.match(parsed.reason, reason);
    });
  }
});

/** Feeds `chunks` to a splitter and returns every line it produced, flush included. */
function split(chunks: (Uint8Array | string)[], opts: { maxLineChars?: number } = {}): string[] {
  const splitter = new EventLineSplitter(opts);
  return [...chunks.flatMap((c) => splitter.push(c)), ...splitter.flush()];
}

function bytes(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}

Deno.test("EventLineSplitter cuts a chunked byte stream into lines", async (t) => {
  const stream = `${CONTAINER_START}\n${POD_CREATE}\n${IMAGE_PULL}\n`;
  const all = [CONTAINER_START, POD_CREATE, IMAGE_PULL];
  const whole = bytes(stream);
  // "é" takes bytes 7 and 8: the first chunk ends inside it.
  const utf8 = bytes('{"n":"h\u00e9"}\n');
  const cases: [string, (Uint8Array | string)[], string[]][] = [
    ["one chunk holding three lines", [whole], all],
    ["byte by byte", [...whole].map((b) => Uint8Array.of(b)), all],
    [
      "chunks of 7 bytes",
      Array.from({ length: Math.ceil(whole.length / 7) }, (_, i) => whole.slice(i * 7, i * 7 + 7)),
      all,
    ],
    [
      "a split right before each newline",
      stream.split("\n").flatMap((s, i, a) => (i < a.length - 1 ? [s, "\n"] : [s])),
      all,
    ],
    ["blank lines and CRLF", ["\n\r\n", `${CONTAINER_START}\r\n\n`, "  \n"], [CONTAINER_START]],
    ["a last line without newline (kept by flush)", [`${POD_CREATE}\n${IMAGE_PULL}`], [POD_CREATE, IMAGE_PULL]],
    ["a UTF-8 character split between chunks", [utf8.slice(0, 8), utf8.slice(8)], ['{"n":"h\u00e9"}']],
    ["nothing", [], []],
  ];
  for (const [what, chunks, want] of cases) {
    await t.step(`EventLineSplitter handles ${what}`, () => {
      assert.deepEqual(split(chunks), want);
    });
  }

  await t.step("EventLineSplitter drops a line over the limit and keeps the next ones", () => {
    const long = "x".repeat(50);
    const splitter = new EventLineSplitter({ maxLineChars: 20 });
    const out = [
      ...splitter.push("ok1\n" + long.slice(0, 30)),
      ...splitter.push(long.slice(30) + "\nok2\n"),
      ...splitter.push(`${long}\nok3`),
      ...splitter.flush(),
    ];
    assert.deepEqual(out, ["ok1", "ok2", "ok3"]);
    assert.equal(splitter.dropped, 2);
  });

  await t.step("EventLineSplitter output parses back to the same events, whatever the chunking", () => {
    for (const size of [1, 2, 3, 64, 1000]) {
      const chunks = Array.from(
        { length: Math.ceil(whole.length / size) },
        (_, i) => whole.slice(i * size, i * size + size),
      );
      const events = split(chunks).map(event);
      assert.deepEqual(events.map((e) => `${e.type}/${e.action}`), ["container/start", "pod/create", "image/pull"]);
    }
  });
});

// ---------------------------------------------------------------------------------------------------------------
// PodmanEventStream against a scripted libpod stand-in on a unix socket: deterministic connection behaviour.

/** One request the stand-in accepted; the test scripts the answer. */
class FakeRequest {
  readonly #conn: Deno.UnixConn;
  readonly #encoder = new TextEncoder();
  /** Request target, e.g. `/v4.0.0/libpod/events?stream=true`. */
  readonly path: string;

  constructor(conn: Deno.UnixConn, path: string) {
    this.#conn = conn;
    this.path = path;
  }

  /** Sends 200 and chunked-encoding headers, as Podman does before any event. */
  async ok(): Promise<void> {
    await this.#write("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n");
  }

  /** Sends `text` as one HTTP chunk. */
  async send(text: string): Promise<void> {
    const data = this.#encoder.encode(text);
    await this.#write(`${data.length.toString(16)}\r\n${text}\r\n`);
  }

  /** Answers with a complete non-200 response and closes. */
  async fail(status: number, body: string): Promise<void> {
    await this.#write(
      `HTTP/1.1 ${status} Error\r\nContent-Type: application/json\r\nConnection: close\r\n` +
        `Content-Length: ${this.#encoder.encode(body).length}\r\n\r\n${body}`,
    );
    this.kill();
  }

  /** Ends the chunked body cleanly, as a Podman stopped with SIGTERM does. */
  async end(): Promise<void> {
    await this.#write("0\r\n\r\n");
    this.kill();
  }

  /** Drops the connection, as a killed Podman does. */
  kill(): void {
    try {
      this.#conn.close();
    } catch { /* already closed */ }
  }

  async #write(text: string): Promise<void> {
    const data = this.#encoder.encode(text);
    for (let off = 0; off < data.length;) off += await this.#conn.write(data.subarray(off));
  }
}

/** A stand-in for libpod's socket that hands each request to the test. */
class FakePodman implements AsyncDisposable {
  readonly #listener: Deno.UnixListener;
  readonly #accepting: Promise<void>;
  readonly #pending: Promise<void>[] = [];
  readonly #conns = new Set<Deno.UnixConn>();
  readonly #queue: FakeRequest[] = [];
  /** Every request path seen, in order. */
  readonly paths: string[] = [];

  constructor(path: string) {
    this.#listener = Deno.listen({ transport: "unix", path });
    this.#accepting = this.#accept();
  }

  /** Waits for the next request. */
  async next(timeoutMs = 5_000): Promise<FakeRequest> {
    const deadline = Date.now() + timeoutMs;
    while (this.#queue.length === 0) {
      if (Date.now() > deadline) throw new Error("No request reached the fake Podman");
      await delay(5);
    }
    return this.#queue.shift()!;
  }

  async #accept(): Promise<void> {
    try {
      for await (const conn of this.#listener) {
        this.#conns.add(conn);
        this.#pending.push(this.#readHead(conn));
      }
    } catch { /* listener closed */ }
  }

  async #readHead(conn: Deno.UnixConn): Promise<void> {
    const buf = new Uint8Array(8192);
    let head = "";
    try {
      while (!head.includes("\r\n\r\n")) {
        const n = await conn.read(buf);
        if (n === null) return;
        head += new TextDecoder().decode(buf.subarray(0, n));
      }
      const path = head.split(" ")[1] ?? "";
      this.paths.push(path);
      this.#queue.push(new FakeRequest(conn, path));
      // Keep reading until the client goes away, so a client close is noticed and nothing is left pending.
      while ((await conn.read(buf)) !== null);
    } catch {
      /* closed by either side */
    } finally {
      this.#conns.delete(conn);
      try {
        conn.close();
      } catch { /* already closed */ }
    }
  }

  /** Stops listening and drops every connection. */
  async close(): Promise<void> {
    try {
      this.#listener.close();
    } catch { /* already closed */ }
    for (const conn of this.#conns) {
      try {
        conn.close();
      } catch { /* already closed */ }
    }
    await this.#accepting;
    await Promise.all(this.#pending);
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Tracks timers that `src/podman/events.ts` starts: Deno 2.9's op sanitizer does not report a pending
 * `setTimeout`, so "stop() leaves no timer behind" needs its own check.
 */
function trackStreamTimers(): { pending(): string[] } & Disposable {
  const live = new Map<number, string>();
  const g = globalThis as unknown as Record<string, (...args: unknown[]) => number>;
  const originals = {
    setTimeout: g["setTimeout"]!,
    clearTimeout: g["clearTimeout"]!,
    setInterval: g["setInterval"]!,
    clearInterval: g["clearInterval"]!,
  };
  // The frame that called setTimeout: [0] is "Error", [1] this wrapper.
  const ours = (stack: string) => /src\/podman\/events\.ts:/.test(stack.split("\n")[2] ?? "");
  for (const kind of ["setTimeout", "setInterval"] as const) {
    g[kind] = (fn: unknown, ms?: unknown, ...args: unknown[]) => {
      const stack = new Error().stack ?? "";
      let id = 0;
      const wrapped = (...a: unknown[]) => {
        if (kind === "setTimeout") live.delete(id);
        (fn as (...a: unknown[]) => void)(...a);
      };
      id = originals[kind](wrapped, ms, ...args);
      if (ours(stack)) live.set(id, stack);
      return id;
    };
  }
  for (const kind of ["clearTimeout", "clearInterval"] as const) {
    g[kind] = (id: unknown) => {
      live.delete(id as number);
      return originals[kind](id);
    };
  }
  return {
    pending: () => [...live.values()],
    [Symbol.dispose]: () => Object.assign(g, originals),
  };
}

/** Polls `fn` every 5 ms until it is true. */
async function until(fn: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!fn()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await delay(5);
  }
}

/** Records every callback as a line of `log`, and events with their arrival time. */
class Recorder {
  readonly log: string[] = [];
  readonly events: { event: PodmanEvent; at: number; epochMs: number }[] = [];
  readonly errors: (Error | undefined)[] = [];
  connects = 0;
  /** What onConnected does, besides being recorded. */
  onConnected: () => void | Promise<void> = () => {};

  readonly handlers: PodmanEventHandlers = {
    onEvent: (e) => {
      this.events.push({ event: e, at: performance.now(), epochMs: Date.now() });
      this.log.push(`event ${e.type} ${e.action} ${e.id}`);
    },
    onConnected: () => {
      this.connects += 1;
      this.log.push("connected");
      return this.onConnected();
    },
    onDisconnected: (err) => {
      this.errors.push(err);
      this.log.push("disconnected");
    },
  };

  /** Waits for an event matching `pred` and returns it with its arrival time. */
  async waitEvent(
    pred: (e: PodmanEvent) => boolean,
    what: string,
    timeoutMs = 10_000,
  ): Promise<{ event: PodmanEvent; at: number; epochMs: number }> {
    let found: { event: PodmanEvent; at: number; epochMs: number } | undefined;
    await until(() => (found = this.events.find((r) => pred(r.event))) !== undefined, what, timeoutMs);
    return found!;
  }
}

function line(type: string, action: string, id: string, extra = ""): string {
  return `{"Type":"${type}","Action":"${action}","Actor":{"ID":"${id}","Attributes":{"name":"n-${id}"${extra}}},` +
    `"time":1795648990,"timeNano":179564899000000000${id.length % 10}}\n`;
}

async function fakeSocket(): Promise<{ path: string; [Symbol.asyncDispose](): Promise<void> }> {
  const dir = await makeTempDir("events");
  return { path: `${dir.path}/podman.sock`, [Symbol.asyncDispose]: () => dir.cleanup() };
}

Deno.test("PodmanEventStream delivers events in order, skips bad lines and asks for the types given", async () => {
  await using sock = await fakeSocket();
  await using fake = new FakePodman(sock.path);
  const rec = new Recorder();
  const stream = new PodmanEventStream(sock.path, { types: ["container", "pod"], log: silentLogger });
  stream.start(rec.handlers);
  try {
    const req = await fake.next();
    const url = new URL(req.path, "http://x");
    assert.equal(url.pathname, "/v4.0.0/libpod/events");
    assert.equal(url.searchParams.get("stream"), "true");
    assert.deepEqual(JSON.parse(url.searchParams.get("filters") ?? ""), { type: ["container", "pod"] });
    assert.equal(stream.connected, false);
    await req.ok();
    await until(() => rec.connects === 1, "onConnected");
    assert.equal(stream.connected, true);
    const a = line("container", "create", "a");
    const b = line("pod", "start", "bb");
    // One event split across chunks, a malformed line, two events in one chunk.
    await req.send(a.slice(0, 10));
    await req.send(a.slice(10) + "{not json}\n" + '{"Type":"container"}\n');
    await req.send(b + line("container", "remove", "a"));
    await until(() => rec.events.length === 3, "three events");
    assert.deepEqual(rec.log, [
      "connected",
      "event container create a",
      "event pod start bb",
      "event container remove a",
    ]);
    assert.equal(rec.events[0]?.event.name, "n-a");
  } finally {
    await stream.stop();
  }
  assert.equal(stream.connected, false);
});

Deno.test("PodmanEventStream holds events that arrive while onConnected runs and delivers them after it", async () => {
  await using sock = await fakeSocket();
  await using fake = new FakePodman(sock.path);
  const rec = new Recorder();
  let finishRelist!: () => void;
  rec.onConnected = () =>
    new Promise<void>((resolve) => {
      finishRelist = () => {
        rec.log.push("relist done");
        resolve();
      };
    });
  const stream = new PodmanEventStream(sock.path, { log: silentLogger });
  stream.start(rec.handlers);
  try {
    const req = await fake.next();
    await req.ok();
    await until(() => rec.connects === 1, "onConnected");
    await req.send(line("container", "create", "c1") + line("container", "start", "c1"));
    await delay(200);
    assert.deepEqual(rec.log, ["connected"], "no event before onConnected has resolved");
    finishRelist();
    await until(() => rec.events.length === 2, "held events");
    await req.send(line("container", "died", "c1"));
    await until(() => rec.events.length === 3, "a live event");
    assert.deepEqual(rec.log, [
      "connected",
      "relist done",
      "event container create c1",
      "event container start c1",
      "event container died c1",
    ]);
  } finally {
    await stream.stop();
  }
});

Deno.test("PodmanEventStream reconnects after the connection breaks and calls onConnected again", async () => {
  await using sock = await fakeSocket();
  await using fake = new FakePodman(sock.path);
  const rec = new Recorder();
  const stream = new PodmanEventStream(sock.path, { log: silentLogger });
  stream.start(rec.handlers);
  try {
    const first = await fake.next();
    await first.ok();
    await first.send(line("pod", "create", "p1"));
    await until(() => rec.events.length === 1, "first event");
    const brokeAt = performance.now();
    first.kill();
    const second = await fake.next();
    const retryMs = performance.now() - brokeAt;
    await until(() => rec.errors.length === 1, "onDisconnected");
    assert.equal(stream.connected, false);
    await second.ok();
    await until(() => rec.connects === 2, "second onConnected");
    await second.send(line("pod", "remove", "p1"));
    await until(() => rec.events.length === 2, "event after reconnect");
    assert.deepEqual(rec.log, ["connected", "event pod create p1", "disconnected", "connected", "event pod remove p1"]);
    assert.ok(retryMs >= 90 && retryMs < 1_000, `first retry after ~100 ms, was ${retryMs.toFixed(0)} ms`);
    // A clean end of the body (Podman stopped with SIGTERM) counts as a disconnect too.
    await second.end();
    const third = await fake.next();
    await third.ok();
    await until(() => rec.connects === 3, "third onConnected");
    assert.equal(rec.errors.length, 2);
    assert.match(rec.errors[1]?.message ?? "", /closed the event stream/);
  } finally {
    await stream.stop();
  }
});

Deno.test("PodmanEventStream retries while nothing listens, reports the outage once, and connects later", async () => {
  await using sock = await fakeSocket();
  const rec = new Recorder();
  const stream = new PodmanEventStream(sock.path, { log: silentLogger, reconnectDelayMs: 20, maxReconnectDelayMs: 50 });
  stream.start(rec.handlers);
  try {
    await until(() => rec.errors.length === 1, "onDisconnected");
    await delay(300); // several failed attempts
    assert.equal(rec.errors.length, 1, "failed retries are not reported again");
    assert.equal((rec.errors[0] as { code?: string }).code, "Unavailable");
    assert.match(rec.errors[0]?.message ?? "", /not reachable \((ENOENT|ECONNREFUSED)\)/);
    await using fake = new FakePodman(sock.path);
    const req = await fake.next();
    await req.ok();
    await until(() => rec.connects === 1, "onConnected");
    assert.deepEqual(rec.log, ["disconnected", "connected"]);
    await stream.stop();
  } finally {
    await stream.stop();
  }
});

Deno.test("PodmanEventStream treats an error status as a failed attempt and retries", async () => {
  await using sock = await fakeSocket();
  await using fake = new FakePodman(sock.path);
  const rec = new Recorder();
  const stream = new PodmanEventStream(sock.path, { log: silentLogger });
  stream.start(rec.handlers);
  try {
    await (await fake.next()).fail(500, '{"cause":"x","message":"boom","response":500}');
    await until(() => rec.errors.length === 1, "onDisconnected");
    assert.equal(rec.connects, 0);
    assert.match(rec.errors[0]?.message ?? "", /Podman returned 500: boom/);
    await (await fake.next()).ok();
    await until(() => rec.connects === 1, "onConnected");
  } finally {
    await stream.stop();
  }
});

Deno.test("PodmanEventStream reconnects when onConnected rejects, and survives a throwing onEvent", async () => {
  await using sock = await fakeSocket();
  await using fake = new FakePodman(sock.path);
  const rec = new Recorder();
  rec.onConnected = () => rec.connects === 1 ? Promise.reject(new Error("relist failed")) : undefined;
  const stream = new PodmanEventStream(sock.path, { log: silentLogger });
  let throws = 0;
  stream.start({
    ...rec.handlers,
    onEvent: (e) => {
      rec.handlers.onEvent(e);
      throws += 1;
      throw new Error("consumer bug");
    },
  });
  try {
    const first = await fake.next();
    await first.ok();
    await first.send(line("container", "create", "held"));
    await until(() => rec.errors.length === 1, "onDisconnected after the rejection");
    assert.match(rec.errors[0]?.message ?? "", /onConnected failed: relist failed/);
    const second = await fake.next();
    await second.ok();
    await until(() => rec.connects === 2, "onConnected again");
    await second.send(line("container", "start", "x") + line("container", "died", "x"));
    await until(() => rec.events.length === 2, "both events despite the throws");
    assert.equal(throws, 2);
    assert.deepEqual(rec.log, [
      "connected",
      "disconnected",
      "connected",
      "event container start x",
      "event container died x",
    ]);
  } finally {
    await stream.stop();
  }
});

Deno.test("PodmanEventStream.stop() ends everything, even with onConnected pending or before start", async (t) => {
  await t.step("stop() before start() resolves at once, and start() after stop() throws", async () => {
    const stream = new PodmanEventStream("/nonexistent/podman.sock", { log: silentLogger });
    await stream.stop();
    assert.throws(() => stream.start(new Recorder().handlers), /only be called once/);
  });

  await t.step("stop() during backoff clears the retry timer", async () => {
    using timers = trackStreamTimers();
    const rec = new Recorder();
    const stream = new PodmanEventStream("/nonexistent/podman.sock", { log: silentLogger, reconnectDelayMs: 60_000 });
    stream.start(rec.handlers);
    await until(() => rec.errors.length === 1, "onDisconnected");
    const before = performance.now();
    await stream.stop();
    assert.ok(performance.now() - before < 1_000, "stop() did not wait for the 60 s backoff");
    assert.deepEqual(timers.pending(), []);
  });

  await t.step("stop() while onConnected is pending: no callback fires afterwards", async () => {
    await using sock = await fakeSocket();
    await using fake = new FakePodman(sock.path);
    const rec = new Recorder();
    let finishRelist!: () => void;
    rec.onConnected = () => new Promise<void>((resolve) => (finishRelist = resolve));
    const stream = new PodmanEventStream(sock.path, { log: silentLogger });
    stream.start(rec.handlers);
    const req = await fake.next();
    await req.ok();
    await until(() => rec.connects === 1, "onConnected");
    await req.send(line("container", "create", "late"));
    await delay(50);
    await stream.stop();
    await stream.stop(); // idempotent
    finishRelist();
    await delay(50);
    assert.deepEqual(rec.log, ["connected"]);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Integration: the real rootless Podman. The CLI writes events to the same event log (`file` logger on these
// hosts) that the private service tails, so CLI actions show up in the service's stream.

/** Runs `podman ARGS…` and returns its trimmed stdout. */
async function podman(...args: string[]): Promise<string> {
  return (await run("podman", args)).trim();
}

/** Waits for `type/action` on `id`; returns the event and how long after `since` (ms, performance.now()) it came. */
async function expectEvent(rec: Recorder, type: string, action: string, id: string, since: number) {
  const got = await rec.waitEvent(
    (e) => e.type === type && e.action === action && e.id === id,
    `${type} ${action} ${id.slice(0, 12)}`,
  );
  // Age: from the time Podman stamped on the event to its arrival here.
  return { event: got.event, latencyMs: got.at - since, ageMs: got.epochMs - Number(got.event.timeNano / 1_000_000n) };
}

function actionsOf(rec: Recorder, id: string): string[] {
  return rec.events.filter((r) => r.event.id === id).map((r) => r.event.action);
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

Deno.test("PodmanEventStream on real Podman: container and pod lifecycles, labels, REST-made containers", async (t) => {
  await ensureBusyboxImage();
  await using service = await startPodmanService();
  const rec = new Recorder();
  const stream = new PodmanEventStream(service.socketPath, { types: ["container", "pod"], log: silentLogger });
  stream.start(rec.handlers);
  const created: string[] = [];
  const pods: string[] = [];
  try {
    await until(() => stream.connected && rec.connects === 1, "connected");

    await t.step(
      "container: create, init, start, exec, exec_died, died, cleanup, remove, with its labels",
      async () => {
        const name = uniqueName("ev-ctr");
        const id = await podman(
          "create",
          "--name",
          name,
          "--label",
          "io.cri-podman.test=events",
          BUSYBOX_IMAGE,
          "sleep",
          "60",
        );
        created.push(id);
        await podman("start", id);
        await podman("exec", id, "true");
        await podman("kill", id);
        await expectEvent(rec, "container", "died", id, 0);
        await podman("rm", id);
        const removed = await expectEvent(rec, "container", "remove", id, 0);
        const actions = actionsOf(rec, id);
        // Podman logs some actions twice (exec_died, cleanup): compare first occurrences.
        const firsts = ["create", "init", "start", "exec", "exec_died", "kill", "died", "cleanup", "remove"];
        assert.deepEqual(actions.filter((a, i) => actions.indexOf(a) === i), firsts, actions.join(","));
        assert.equal(removed.event.name, name);
        assert.equal(removed.event.attributes["io.cri-podman.test"], "events", "container labels ride in Attributes");
        assert.equal(removed.event.attributes["image"], BUSYBOX_IMAGE);
        assert.equal(removed.event.attributes["podId"], "");
        const died = rec.events.find((r) => r.event.id === id && r.event.action === "died")!.event;
        assert.equal(died.attributes["containerExitCode"], "137");
        const nanos = rec.events.filter((r) => r.event.id === id).map((r) => r.event.timeNano);
        assert.ok(nanos.every((n) => n > 1_600_000_000_000_000_000n), "timeNano is epoch nanoseconds");
      },
    );

    await t.step("pod: create, start, stop, remove, and its infra container carries podId", async () => {
      const name = uniqueName("ev-pod");
      const podId = await podman("pod", "create", "--network", "none", "--name", name);
      pods.push(podId);
      await podman("pod", "start", podId);
      await podman("pod", "stop", "-t", "0", podId);
      await podman("pod", "rm", podId);
      await expectEvent(rec, "pod", "remove", podId, 0);
      const podActions = actionsOf(rec, podId);
      assert.deepEqual(podActions, ["create", "start", "stop", "remove"]);
      const infra = rec.events.filter((r) =>
        r.event.type === "container" && r.event.name?.startsWith(podId.slice(0, 12))
      );
      const infraActions = infra.map((r) => r.event.action);
      for (const a of ["create", "init", "start", "died", "remove"]) {
        assert.ok(infraActions.includes(a), infraActions.join());
      }
      assert.ok(infra.some((r) => r.event.attributes["podId"] === podId), "infra events name their pod");
      assert.equal(rec.events.find((r) => r.event.id === podId)?.event.name, name);
    });

    await t.step("a container created through the REST API produces the same events", async () => {
      const name = uniqueName("ev-rest");
      const reply = await service.request("POST", "/v4.0.0/libpod/containers/create", {
        body: JSON.stringify({ image: BUSYBOX_IMAGE, name, command: ["true"], labels: { via: "rest" } }),
        headers: { "content-type": "application/json" },
      });
      assert.equal(reply.status, 201, reply.body);
      const id = JSON.parse(reply.body).Id as string;
      created.push(id);
      const e = await expectEvent(rec, "container", "create", id, 0);
      assert.equal(e.event.attributes["via"], "rest");
      const del = await service.request("DELETE", `/v4.0.0/libpod/containers/${id}?force=true&timeout=0`);
      assert.ok(del.status === 200 || del.status === 204, `${del.status} ${del.body}`);
      await expectEvent(rec, "container", "remove", id, 0);
    });

    await t.step("latency from the CLI's return to the event (10 runs)", async () => {
      const samples: Record<string, number[]> = { create: [], start: [], remove: [] };
      const ages: number[] = [];
      const measure = async (action: string, id: string) => {
        const got = await expectEvent(rec, "container", action, id, performance.now());
        samples[action]!.push(got.latencyMs);
        ages.push(got.ageMs);
      };
      // A random pause before each command, so the commands don't fall into step with Podman's log polling.
      const jitter = () => delay(Math.random() * 300);
      for (let i = 0; i < 10; i++) {
        await jitter();
        const id = await podman("create", "--name", uniqueName("ev-lat"), BUSYBOX_IMAGE, "sleep", "60");
        created.push(id);
        await measure("create", id);
        await jitter();
        await podman("start", id);
        await measure("start", id);
        await jitter();
        await podman("rm", "-f", "-t", "0", id);
        await measure("remove", id);
      }
      const all = Object.values(samples).flat();
      const fmt = (v: number[]) => `p50 ${percentile(v, 50).toFixed(1)} ms, max ${Math.max(...v).toFixed(1)} ms`;
      console.log(
        `event latency after the CLI returned: all ${fmt(all)}; ` +
          Object.entries(samples).map(([k, v]) => `${k} ${fmt(v)}`).join("; ") +
          `; event age (arrival − timeNano): ${fmt(ages)}`,
      );
      assert.ok(Math.max(...all) < 5_000, "events arrive within seconds");
    });
  } finally {
    await stream.stop();
    for (const id of created) await run("podman", ["rm", "-f", "-t", "0", "--ignore", id]).catch(() => {});
    for (const id of pods) await run("podman", ["pod", "rm", "-f", "--ignore", id]).catch(() => {});
  }
});

Deno.test("PodmanEventStream survives a SIGKILLed Podman service, misses nothing across the relist, stops cleanly", async () => {
  // Default sanitizers (ops, resources), plus a timer check of our own: stop() must leave nothing behind.
  using timers = trackStreamTimers();
  await ensureBusyboxImage();
  const service: PodmanService = await startPodmanService();
  const rec = new Recorder();
  const stream = new PodmanEventStream(service.socketPath, { types: ["container", "pod"], log: silentLogger });
  const created: string[] = [];
  try {
    stream.start(rec.handlers);
    await until(() => rec.connects === 1, "first onConnected");

    service.kill("SIGKILL");
    await service.exited();
    await until(() => rec.errors.length === 1, "onDisconnected", 10_000);
    assert.equal(stream.connected, false);
    assert.equal((rec.errors[0] as { code?: string }).code, "Unavailable", rec.errors[0]?.message ?? "");

    // While the consumer's relist runs (here: a container is created meanwhile), events are held, not lost.
    const name = uniqueName("ev-relist");
    let createdDuringRelist = "";
    rec.onConnected = async () => {
      createdDuringRelist = await podman("create", "--name", name, BUSYBOX_IMAGE, "true");
      created.push(createdDuringRelist);
      await delay(500); // let the event reach us while onConnected is still pending
      rec.log.push("relist done");
    };
    await service.restart();
    const restartedAt = performance.now();
    await until(() => rec.connects === 2, "onConnected after the restart", 15_000);
    console.log(`onConnected ${(performance.now() - restartedAt).toFixed(0)} ms after the new service answered _ping`);
    await rec.waitEvent((e) => e.id === createdDuringRelist && e.action === "create", "create during relist");
    const relistDone = rec.log.indexOf("relist done");
    const createdAt = rec.log.indexOf(`event container create ${createdDuringRelist}`);
    assert.ok(relistDone >= 0 && createdAt > relistDone, rec.log.join("\n"));
    assert.deepEqual(rec.log.slice(0, 3), ["connected", "disconnected", "connected"]);

    // And events keep flowing.
    await podman("rm", createdDuringRelist);
    await rec.waitEvent((e) => e.id === createdDuringRelist && e.action === "remove", "remove after reconnect");
  } finally {
    await stream.stop();
    for (const id of created) await run("podman", ["rm", "-f", "-t", "0", "--ignore", id]).catch(() => {});
    await service.stop();
  }
  assert.deepEqual(timers.pending(), []);
  const calls = rec.log.length;
  await delay(300);
  assert.equal(rec.log.length, calls, "no callback after stop()");
});
