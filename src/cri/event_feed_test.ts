import assert from "node:assert/strict";
import { PodSandboxState } from "../gen/runtime/v1/api_pb.ts";
import { createLogger } from "../observability/log.ts";
import type { PodmanEvent, PodmanEventHandlers } from "../podman/events.ts";
import type { EventsPort, EventSubscription } from "../podman/port.ts";
import { type InProcessCri, startInProcessCri } from "../../tests/harness/in_process_cri.ts";
import { cachedSandboxState, runSandbox } from "../../tests/harness/handler_fixtures.ts";
import { EventFeed } from "./event_feed.ts";
import { RuntimeCache } from "./runtime_cache.ts";

/** An event stream the test drives by hand: it keeps the feed's handlers. */
class ScriptedEvents implements EventsPort {
  handlers: PodmanEventHandlers | undefined;
  types: readonly string[] = [];

  /** Keeps the handlers; connects nothing until the test calls `connect()`. */
  subscribe(types: readonly string[], handlers: PodmanEventHandlers): EventSubscription {
    this.types = types;
    this.handlers = handlers;
    return { stop: () => Promise.resolve() };
  }

  /** The stream (re)connected: resolves when the feed's onConnected has. */
  async connect(): Promise<void> {
    await this.handlers!.onConnected();
  }

  /** Delivers one event. */
  emit(type: string, action: string, id: string, attributes: Record<string, string> = {}): void {
    const event: PodmanEvent = { type, action, id, timeNano: 0n, attributes };
    this.handlers!.onEvent(event);
  }
}

/** A feed on a scripted stream, over a cache of its own on the harness's fake (which runs without a feed). */
function feedOn(cri: InProcessCri): { cache: RuntimeCache; events: ScriptedEvents; logs: string[] } {
  const logs: string[] = [];
  const log = createLogger({ level: "debug", format: "text", write: (line) => logs.push(line) });
  const cache = new RuntimeCache(cri.fake, log);
  const events = new ScriptedEvents();
  new EventFeed(cache, log).start(events);
  return { cache, events, logs };
}

/** Lets the refreshes the events started finish (the fake answers in microtasks). */
const drain = () => new Promise((resolve) => setTimeout(resolve, 0));

Deno.test("EventFeed subscribes to container and pod events and resyncs the cache on each connection", async () => {
  await using cri = await startInProcessCri({ events: false });
  const id = await runSandbox(cri, "a");
  const { cache, events } = feedOn(cri);
  assert.deepEqual(events.types, ["container", "pod"]);
  assert.equal(cache.synced, false);
  await events.connect();
  assert.equal(cache.synced, true);
  assert.equal(await cachedSandboxState(cache, id), PodSandboxState.SANDBOX_READY);
  // Lost: List asks Podman; a change made meanwhile (no event will tell) shows after the reconnection's resync.
  events.handlers!.onDisconnected?.(new Error("stream lost"));
  assert.equal(cache.synced, false);
  await cri.fake.pods.kill(id);
  await events.connect();
  assert.equal(cache.synced, true);
  assert.equal(await cachedSandboxState(cache, id), PodSandboxState.SANDBOX_NOTREADY);
});

Deno.test("EventFeed re-reads the sandbox a pod event or an infra container event names", async (t) => {
  await using cri = await startInProcessCri({ events: false });
  const id = await runSandbox(cri, "b");
  const infra = cri.fake.pods_.get(id)!.infraId;
  const { cache, events } = feedOn(cri);
  await events.connect();
  await t.step("an infra container event (it carries the pod's labels and podId)", async () => {
    cri.fake.containers_.get(infra)!.status = "exited"; // no event from the fake: the test sends it
    events.emit("container", "cleanup", infra, { "io.cri-podman.kind": "sandbox", podId: id });
    await drain();
    assert.equal(await cachedSandboxState(cache, id), PodSandboxState.SANDBOX_NOTREADY);
  });
  await t.step("a pod event", async () => {
    await cri.fake.pods.remove(id);
    events.emit("pod", "remove", id);
    await drain();
    assert.equal(await cachedSandboxState(cache, id), undefined);
  });
});

Deno.test("EventFeed ignores events that change nothing a List shows, and foreign containers", async () => {
  await using cri = await startInProcessCri({ events: false });
  const id = await runSandbox(cri, "c");
  const { events } = feedOn(cri);
  await events.connect();
  const reads = () => cri.fake.callsOf("pods.inspect").length + cri.fake.callsOf("containers.inspect").length;
  const before = reads();
  for (const action of ["exec", "exec_died", "exec_start", "attach", "health_status", "sync", "mount", "unmount"]) {
    events.emit("container", action, "f".repeat(64), { "io.cri-podman.kind": "container" });
  }
  events.emit("container", "died", "e".repeat(64), { podId: id }); // no kind: not ours
  events.emit("container", "died", "d".repeat(64), { "io.cri-podman.kind": "sandbox" }); // no podId
  await drain();
  assert.equal(reads(), before);
});

Deno.test("EventFeed coalesces events for one object: one more read after the running one, however many came", async () => {
  await using cri = await startInProcessCri({ events: false });
  const id = await runSandbox(cri, "d");
  const { events } = feedOn(cri);
  await events.connect();
  // Hold the first read so that the events below arrive while it runs.
  let release!: () => void;
  const inspect = cri.fake.pods.inspect;
  cri.fake.pods.inspect = async (podId, opts) => {
    cri.fake.pods.inspect = inspect;
    const answer = await inspect(podId, opts);
    await new Promise<void>((resolve) => release = resolve);
    return answer;
  };
  const before = cri.fake.callsOf("pods.inspect").length;
  events.emit("pod", "start", id);
  for (let i = 0; i < 10; i++) events.emit("pod", "stop", id);
  await drain();
  assert.equal(cri.fake.callsOf("pods.inspect").length, before + 1, "one read runs, the rest wait");
  release();
  await drain();
  assert.equal(cri.fake.callsOf("pods.inspect").length, before + 2, "exactly one more read");
});

Deno.test("EventFeed: a failed resync leaves the cache unsynced and fails onConnected, so the stream reconnects", async () => {
  await using cri = await startInProcessCri({ events: false });
  const id = await runSandbox(cri, "e");
  const { cache, events, logs } = feedOn(cri);
  cri.fake.failNext("pods.list", "unreachable", "connection reset");
  await assert.rejects(events.connect(), /connection reset/);
  assert.equal(cache.synced, false, "List keeps asking Podman");
  assert.ok(logs.some((l) => l.includes("cache resync failed")));
  assert.equal(await cachedSandboxState(cache, id), PodSandboxState.SANDBOX_READY, "answered from Podman");
  await events.connect(); // the stream's reconnection
  assert.equal(cache.synced, true);
});
