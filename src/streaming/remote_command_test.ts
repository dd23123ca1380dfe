import assert from "node:assert/strict";
import { FakePodman } from "../../tests/fake_podman.ts";
import { memorySession } from "../../tests/harness/memory_session.ts";
import { bridgeRemoteCommand, firstTerminalSize } from "./remote_command.ts";

/** A fake Podman with one running container, and its ID. */
async function containerOnFake(): Promise<{ fake: FakePodman; id: string }> {
  const fake = new FakePodman();
  fake.addImage(["docker.io/library/busybox:latest"]);
  const podId = await fake.pods.create({ name: "p" });
  await fake.pods.start(podId);
  const id = await fake.containers.create({ name: "c", pod: podId, image: "docker.io/library/busybox:latest" });
  await fake.containers.start(id);
  return { fake, id };
}

Deno.test("bridgeRemoteCommand() carries stdin to the process and its output back, then the exit code", async () => {
  const { fake, id } = await containerOnFake();
  fake.streamBehaviour = async (io) => {
    for await (const chunk of io.stdin) io.stdout(chunk);
    io.stderr(new TextEncoder().encode("bye\n"));
    return 3;
  };
  const client = memorySession({ stdin: true, stdout: true, stderr: true, tty: false });
  const exec = await fake.exec.open(id, ["cat"], { tty: false, stdin: true, stdout: true, stderr: true });
  const done = bridgeRemoteCommand(client.session, exec, { exitCode: exec.exitCode, abandon: exec.kill });
  client.type("hello ");
  client.type("world\n");
  client.closeStdin();
  await done;
  assert.equal(client.stdout.text(), "hello world\n");
  assert.equal(client.stderr.text(), "bye\n", "stderr demultiplexed from Podman's 8-byte frames");
  assert.deepEqual(await client.outcome, { kind: "exit", exitCode: 3 });
  assert.equal(fake.openStreams.size, 0, "Podman's connection closed");
});

Deno.test("bridgeRemoteCommand() passes terminal sizes on and a TTY's output unframed", async () => {
  const { fake, id } = await containerOnFake();
  let sizesSeen: { width: number; height: number }[] = [];
  fake.streamBehaviour = async (io) => {
    for await (const chunk of io.stdin) io.stdout(chunk);
    sizesSeen = io.sizes;
    return 0;
  };
  const client = memorySession({ stdin: true, stdout: true, stderr: false, tty: true });
  const exec = await fake.exec.open(id, ["sh"], { tty: true, stdin: true, stdout: true, stderr: false });
  const done = bridgeRemoteCommand(client.session, exec, { exitCode: exec.exitCode });
  client.resizeTo({ width: 80, height: 24 });
  client.resizeTo({ width: 120, height: 40 });
  await new Promise((resolve) => setTimeout(resolve, 0)); // let the resize pump hand both on
  client.type("ls\r");
  client.closeStdin();
  await done;
  assert.deepEqual(sizesSeen, [{ width: 80, height: 24 }, { width: 120, height: 40 }]);
  assert.equal(client.stdout.text(), "ls\r");
  assert.deepEqual(await client.outcome, { kind: "exit", exitCode: 0 });
});

Deno.test("bridgeRemoteCommand() ends the process when the client vanishes, and finishes nothing", async () => {
  const { fake, id } = await containerOnFake();
  fake.streamBehaviour = async (io) => {
    for await (const _ of io.stdin) { /* a process that only waits */ }
    return 0;
  };
  const client = memorySession({ stdin: true, stdout: true, stderr: false, tty: true });
  const exec = await fake.exec.open(id, ["sleep", "1000"], { tty: true, stdin: true, stdout: true, stderr: false });
  let killed = false;
  const done = bridgeRemoteCommand(client.session, exec, {
    exitCode: exec.exitCode,
    abandon: async () => {
      killed = true;
      await exec.kill();
    },
  });
  client.vanish();
  await done;
  assert.equal(killed, true, "the abandoned exec is killed");
  assert.equal(fake.openStreams.size, 0);
  const finished = await Promise.race([client.outcome.then(() => true), Promise.resolve(false)]);
  assert.equal(finished, false, "no Status is written to a client that is gone");
});

Deno.test("bridgeRemoteCommand() tells the client why when the exit code cannot be read", async () => {
  const { fake, id } = await containerOnFake();
  const client = memorySession({ stdin: false, stdout: true, stderr: true, tty: false });
  const exec = await fake.exec.open(id, ["true"], { tty: false, stdin: false, stdout: true, stderr: true });
  await bridgeRemoteCommand(client.session, exec, {
    exitCode: () => Promise.reject(new Error("Podman removed the exec session")),
  });
  assert.deepEqual(await client.outcome, { kind: "error", message: "Podman removed the exec session" });
});

/** A resize stream fed by hand. */
function sizeQueue() {
  const queue: Array<{ width: number; height: number } | null> = [];
  let wake: (() => void) | undefined;
  const push = (item: { width: number; height: number } | null) => {
    queue.push(item);
    wake?.();
  };
  const sizes = (async function* () {
    while (true) {
      while (queue.length === 0) await new Promise<void>((resolve) => (wake = resolve));
      const item = queue.shift()!;
      if (item === null) return;
      yield item;
    }
  })();
  return { push, sizes };
}

/** Everything an iterable yields. */
async function collect<T>(items: AsyncIterable<T> | undefined): Promise<T[]> {
  const all: T[] = [];
  for await (const item of items ?? []) all.push(item);
  return all;
}

Deno.test("firstTerminalSize() takes the size that comes in time and keeps every later one", async () => {
  const { push, sizes } = sizeQueue();
  push({ width: 100, height: 30 });
  push({ width: 120, height: 40 });
  const { first, rest } = await firstTerminalSize(sizes, 1_000, new AbortController().signal);
  assert.deepEqual(first, { width: 100, height: 30 });
  push(null);
  assert.deepEqual(await collect(rest), [{ width: 120, height: 40 }]);
});

Deno.test("firstTerminalSize() gives up after the wait and loses no size that comes later", async () => {
  const { push, sizes } = sizeQueue();
  const { first, rest } = await firstTerminalSize(sizes, 20, new AbortController().signal);
  assert.equal(first, undefined);
  push({ width: 80, height: 24 });
  push({ width: 81, height: 25 });
  push(null);
  assert.deepEqual(await collect(rest), [{ width: 80, height: 24 }, { width: 81, height: 25 }]);
});

Deno.test("firstTerminalSize() stops waiting when the client goes away, and has nothing without a TTY", async () => {
  const { push, sizes } = sizeQueue();
  const gone = new AbortController();
  const waiting = firstTerminalSize(sizes, 60_000, gone.signal);
  gone.abort();
  const { first, rest } = await waiting;
  assert.equal(first, undefined);
  push(null);
  assert.deepEqual(await collect(rest), []);
  assert.deepEqual(await firstTerminalSize(undefined, 10, gone.signal), { first: undefined, rest: undefined });
});
