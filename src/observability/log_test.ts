import assert from "node:assert/strict";
import { createLogger, type Logger, type LogLevel, redact, silentLogger } from "./log.ts";

const R = "[redacted]";
const LEVELS: LogLevel[] = ["debug", "info", "warn", "error"];

/** A logger whose lines are collected in `lines`. */
function capture(level: LogLevel, format: "text" | "json"): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  return { log: createLogger({ level, format, write: (line) => lines.push(line) }), lines };
}

Deno.test("redact()", async (t) => {
  const secrets = ["password", "auth", "identityToken", "registryToken", "secret", "Authorization", "credentials"];
  for (const key of secrets) {
    await t.step(`redact() hides ${key} at the top level`, () => {
      assert.deepEqual(redact({ [key]: "hunter2", image: "busybox" }), { [key]: R, image: "busybox" });
    });
  }

  await t.step("redact() hides secrets in nested objects", () => {
    assert.deepEqual(
      redact({ request: { image: { image: "busybox" }, auth: { username: "u", password: "p", auth: "dTpw" } } }),
      { request: { image: { image: "busybox" }, auth: R } },
    );
    assert.deepEqual(
      redact({ creds: { username: "u", password: "p", identityToken: "i", registryToken: "r" } }),
      { creds: { username: "u", password: R, identityToken: R, registryToken: R } },
    );
  });

  await t.step("redact() hides secrets inside arrays", () => {
    assert.deepEqual(
      redact({ registries: [{ host: "a", password: "p" }, { host: "b", secret: "s" }], tags: ["x", "y"] }),
      { registries: [{ host: "a", password: R }, { host: "b", secret: R }], tags: ["x", "y"] },
    );
    assert.deepEqual(redact([{ token: "t" }, [{ password: "p" }]]), [{ token: R }, [{ password: R }]]);
  });

  await t.step("redact() hides secrets six levels down", () => {
    assert.deepEqual(
      redact({ a: { b: { c: { d: { e: { password: "p", keep: 1 } } } } } }),
      { a: { b: { c: { d: { e: { password: R, keep: 1 } } } } } },
    );
  });

  await t.step("redact() hides a secret whatever its value's type", () => {
    assert.deepEqual(redact({ password: 1234, token: { value: "t" }, secret: ["s"] }), {
      password: R,
      token: R,
      secret: R,
    });
  });

  await t.step("redact() keeps empty and missing secrets visible, so their absence can be seen", () => {
    assert.deepEqual(redact({ password: "", token: undefined }), { password: "", token: undefined });
  });

  await t.step("redact() keeps other fields, including ones that merely contain 'auth'", () => {
    const fields = { image: "busybox", author: "me", authority: "x", count: 3, ok: null, n: 5n, list: [1, "a"] };
    assert.deepEqual(redact(fields), fields);
  });

  await t.step("redact() returns primitives as they are", () => {
    for (const value of ["password", 1, true, null, undefined, 5n]) assert.equal(redact(value), value);
  });

  await t.step("redact() turns an Error into its name and message", () => {
    assert.deepEqual(redact({ error: new TypeError("bad") }), { error: { name: "TypeError", message: "bad" } });
  });

  await t.step("redact() keeps bytes as they are", () => {
    const bytes = new Uint8Array([1, 2, 3]);
    assert.equal((redact({ data: bytes }) as { data: unknown }).data, bytes);
  });

  await t.step("redact() does not modify its input", () => {
    const input = { auth: { password: "p" }, list: [{ token: "t" }] };
    redact(input);
    assert.deepEqual(input, { auth: { password: "p" }, list: [{ token: "t" }] });
  });

  await t.step({
    name: "redact() hides secrets deeper than six levels",
    fn: () => {
      const deep = redact({ a: { b: { c: { d: { e: { f: { g: { password: "hunter2" } } } } } } } });
      assert.ok(!JSON.stringify(deep).includes("hunter2"));
    },
  });
  await t.step({
    name: "redact() keeps a boolean flag that holds no secret",
    fn: () => assert.deepEqual(redact({ authenticated: true }), { authenticated: true }),
  });
  await t.step({
    name: "redact() hides the X-Registry-Auth header",
    fn: () => assert.deepEqual(redact({ "X-Registry-Auth": "eyJ1In0=" }), { "X-Registry-Auth": R }),
  });
});

Deno.test("createLogger()", async (t) => {
  for (const level of LEVELS) {
    await t.step(`createLogger() at ${level} writes ${level} and above only`, () => {
      const { log, lines } = capture(level, "json");
      for (const l of LEVELS) log[l](`at ${l}`);
      const written = lines.map((line) => JSON.parse(line).level);
      assert.deepEqual(written, LEVELS.slice(LEVELS.indexOf(level)));
    });
  }

  await t.step("createLogger() writes JSON lines holding time, level, message and fields", () => {
    const { log, lines } = capture("debug", "json");
    log.info("pulled image", { image: "busybox", ms: 12, ok: true, nested: { a: [1, 2] } });
    assert.equal(lines.length, 1);
    assert.ok(!lines[0]!.includes("\n"));
    const entry = JSON.parse(lines[0]!);
    assert.equal(entry.level, "info");
    assert.equal(entry.msg, "pulled image");
    assert.ok(!Number.isNaN(Date.parse(entry.time)), `time ${entry.time} is not a date`);
    assert.equal(entry.image, "busybox");
    assert.equal(entry.ms, 12);
    assert.equal(entry.ok, true);
    assert.deepEqual(entry.nested, { a: [1, 2] });
  });

  await t.step("createLogger() writes bigints as strings in JSON", () => {
    const { log, lines } = capture("info", "json");
    log.info("stats", { size: 5_000_000_000_000_000_000n, nested: { uid: 1000n } });
    const entry = JSON.parse(lines[0]!);
    assert.equal(entry.size, "5000000000000000000");
    assert.deepEqual(entry.nested, { uid: "1000" });
  });

  await t.step("createLogger() writes bytes as their length", () => {
    const { log, lines } = capture("info", "json");
    log.info("frame", { data: new Uint8Array(7) });
    assert.equal(JSON.parse(lines[0]!).data, "<7 bytes>");
  });

  await t.step('createLogger() writes text lines with key="value" fields', () => {
    const { log, lines } = capture("info", "text");
    log.warn("call failed", { rpc: "PullImage", code: "NotFound", ms: 3, size: 10n, tags: ["a"] });
    assert.equal(lines.length, 1);
    const line = lines[0]!;
    assert.match(line, /^\d{4}-\d\d-\d\dT[\d:.]+Z WARN {2}call failed /);
    assert.ok(line.includes('rpc="PullImage"'), line);
    assert.ok(line.includes('code="NotFound"'), line);
    assert.ok(line.includes("ms=3"), line);
    assert.ok(line.includes('size="10"'), line);
    assert.ok(line.includes('tags=["a"]'), line);
  });

  await t.step("createLogger() quotes and escapes text values", () => {
    const { log, lines } = capture("info", "text");
    log.info("x", { msg: 'say "hi"\nbye' });
    assert.ok(lines[0]!.includes('msg="say \\"hi\\"\\nbye"'), lines[0]!);
    assert.ok(!lines[0]!.includes("\nbye"));
  });

  await t.step("createLogger() redacts secrets before writing, in both formats", () => {
    for (const format of ["text", "json"] as const) {
      const { log, lines } = capture("info", format);
      log.info("pulling", { image: "busybox", auth: { username: "u", password: "hunter2" }, password: "hunter2" });
      assert.ok(!lines[0]!.includes("hunter2"), lines[0]!);
      assert.ok(lines[0]!.includes("busybox"));
    }
  });

  await t.step("createLogger() with() adds fields to every line, and the line's own fields win", () => {
    const { log, lines } = capture("info", "json");
    const child = log.with({ rpc: "PullImage", id: 1 }).with({ id: 2 });
    child.info("one");
    child.info("two", { id: 3 });
    log.info("parent");
    const entries = lines.map((line) => JSON.parse(line));
    assert.deepEqual([entries[0].rpc, entries[0].id], ["PullImage", 2]);
    assert.deepEqual([entries[1].rpc, entries[1].id], ["PullImage", 3]);
    assert.equal(entries[2].rpc, undefined);
  });

  await t.step("createLogger() with() keeps the level", () => {
    const { log, lines } = capture("warn", "text");
    log.with({ a: 1 }).info("dropped");
    assert.deepEqual(lines, []);
  });

  await t.step("createLogger() writes a text line for a field that cannot be JSON", () => {
    const cyclic: Record<string, unknown> = {};
    cyclic["self"] = cyclic;
    const { log, lines } = capture("info", "text");
    log.info("x", { cyclic });
    assert.equal(lines.length, 1);
  });

  await t.step({
    name: "createLogger() writes a JSON line for a field that cannot be JSON",
    fn: () => {
      const cyclic: Record<string, unknown> = {};
      cyclic["self"] = cyclic;
      const { log, lines } = capture("info", "json");
      log.info("x", { cyclic });
      assert.equal(lines.length, 1);
    },
  });

  await t.step("silentLogger drops everything, at every level and through with()", () => {
    // createLogger() writes with console.error unless given a writer: catch whatever reaches a console method.
    const written: string[] = [];
    const methods = ["error", "warn", "log", "info", "debug"] as const;
    const saved = methods.map((m) => console[m]);
    for (const m of methods) console[m] = (...args: unknown[]) => void written.push(`console.${m}: ${args.join(" ")}`);
    try {
      for (const l of LEVELS) {
        silentLogger[l]("nothing", { a: 1 });
        silentLogger.with({ rpc: "PullImage" })[l]("nothing either");
      }
      assert.deepEqual(written, []);
      // The trap works: a logger with the default writer is caught by it.
      createLogger({ level: "debug", format: "text" }).error("visible");
      assert.equal(written.length, 1);
    } finally {
      methods.forEach((m, i) => (console[m] = saved[i]!));
    }
  });
});
