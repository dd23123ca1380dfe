/**
 * The libpod event stream's pure parts: the line splitter and parser (table cases), and what PodmanEventStream does
 * before it ever connects. Its connection behaviour (against a scripted stand-in socket) and the real thing on
 * rootless Podman are tests/podman_events_test.ts.
 */
import assert from "node:assert/strict";
import { silentLogger } from "../observability/log.ts";
import { EventLineSplitter, parseEventLine, type PodmanEvent, PodmanEventStream } from "./events.ts";

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

Deno.test("PodmanEventStream.stop() before start() resolves at once, and start() after stop() throws", async () => {
  let calls = 0;
  const stream = new PodmanEventStream("/nonexistent/podman.sock", { log: silentLogger });
  await stream.stop();
  const count = () => void (calls += 1);
  assert.throws(
    () => stream.start({ onEvent: count, onConnected: count, onDisconnected: count }),
    /only be called once/,
  );
  assert.equal(stream.connected, false);
  assert.equal(calls, 0);
});
