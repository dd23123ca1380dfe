/**
 * Integration: PortForward's pod side against a real rootless Podman. A helper started with nsenter inside a pod's
 * network namespace reaches ports nobody published (busybox httpd and nc in a container), many at once, through
 * IPv4 or IPv6 loopback, with half-close, at a throughput measured next to a direct connection from inside the
 * namespace; a refused port gives the client a message; and no helper process or socket outlives a close, an abort,
 * its own death or the death of the process that started it. The relay's logic is unit-tested on fakes
 * (src/streaming/port_forward_test.ts).
 */
import assert from "node:assert/strict";
import { readProcessTable } from "../src/host/processes.ts";
import {
  type HelperPortForwarder,
  openPodPortForwarder,
  type PodConnection,
  PORT_FORWARD_HELPER_COMMAND,
} from "../src/streaming/pod_ports.ts";
import { servePortForward } from "../src/streaming/port_forward.ts";
import type { ForwardedConnection, PortForwardSession } from "../src/streaming/session.ts";
import { BUSYBOX_IMAGE, ensureBusyboxImage } from "./harness/busybox_image.ts";
import { runInNetns } from "./harness/netns.ts";
import { type PodmanService, startPodmanService } from "./harness/podman_service.ts";
import { makeTempDir, processExists, uniqueName, waitFor } from "./harness/temp.ts";

const MiB = 1024 * 1024;
const BIG = 256 * MiB;
const PAGE = "hello from inside the pod\n";
const PORTS = { http: 8080, echo: 8081, count: 8082, zeros: 8083, http6: 8084, closed: 9 } as const;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Everything the pod side sends until EOF. */
async function readAll(conn: PodConnection): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  const buffer = new Uint8Array(64 * 1024);
  for (let n = await conn.read(buffer); n !== null; n = await conn.read(buffer)) chunks.push(buffer.slice(0, n));
  const out = new Uint8Array(chunks.reduce((sum, c) => sum + c.length, 0));
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.length;
  }
  return out;
}

/** An HTTP/1.0 GET of `path` through the forwarder; the whole response as text. */
async function httpGet(forwarder: HelperPortForwarder, port: number, path = "/"): Promise<string> {
  const result = await forwarder.connect(port);
  if (!result.ok) throw new Error(result.message);
  try {
    await result.connection.write(encoder.encode(`GET ${path} HTTP/1.0\r\nHost: localhost\r\n\r\n`));
    return decoder.decode(await readAll(result.connection));
  } finally {
    result.connection.close();
  }
}

/** What a forwarder left behind: its helper still running, children of it, its socket file. */
function leftovers(forwarder: HelperPortForwarder): string[] {
  const left: string[] = [];
  if (processExists(forwarder.helperPid)) left.push(`helper pid ${forwarder.helperPid} still runs`);
  for (const [pid, entry] of readProcessTable()) {
    if (entry.ppid === forwarder.helperPid) left.push(`pid ${pid} is a child of the helper`);
  }
  try {
    Deno.lstatSync(forwarder.socketPath);
    left.push(`socket ${forwarder.socketPath} exists`);
  } catch {
    // Gone, as it should be.
  }
  return left;
}

/** A port-forward session the test drives: one connection per `open(port)`, bytes counted as they arrive. */
function memorySession() {
  const pending: ForwardedConnection[] = [];
  let wake: (() => void) | undefined;
  let ended = false;
  const gone = new AbortController();
  const connections: AsyncIterable<ForwardedConnection> = {
    async *[Symbol.asyncIterator]() {
      for (;;) {
        if (pending.length > 0) yield pending.shift()!;
        else if (ended) return;
        else await new Promise<void>((resolve) => wake = resolve);
      }
    },
  };
  const session: PortForwardSession = {
    ports: [],
    connections,
    closed: gone.signal,
    close: () => {
      gone.abort();
      return Promise.resolve();
    },
  };
  return {
    session,
    end() {
      ended = true;
      wake?.();
    },
    /** Opens a connection that sends `upload` (then EOF) and counts what comes back, keeping the first `keep` bytes. */
    open(port: number, upload: Iterable<Uint8Array>, keep = 1024) {
      let received = 0;
      const head: Uint8Array[] = [];
      let headBytes = 0;
      const done = Promise.withResolvers<void>();
      let failed: string | undefined;
      const conn: ForwardedConnection = {
        port,
        fromClient: (async function* () {
          yield* upload;
        })(),
        toClient: {
          write(chunk) {
            received += chunk.length;
            if (headBytes < keep) {
              head.push(chunk.slice(0, keep - headBytes));
              headBytes += Math.min(chunk.length, keep - headBytes);
            }
            return Promise.resolve();
          },
          close() {
            done.resolve();
            return Promise.resolve();
          },
        },
        fail(message) {
          failed = message;
          done.resolve();
          return Promise.resolve();
        },
        closed: gone.signal,
      };
      pending.push(conn);
      wake?.();
      return {
        done: done.promise,
        get received() {
          return received;
        },
        get failed() {
          return failed;
        },
        head: () => decoder.decode(new Uint8Array(head.flatMap((c) => [...c]))),
      };
    },
  };
}

/** A pod without a network (a private namespace with loopback only) and a busybox container serving its ports. */
async function startServingPod(podman: PodmanService) {
  const post = async (path: string, body?: unknown) => {
    const reply = await podman.request("POST", `/v4.0.0/libpod${path}`, {
      headers: { "content-type": "application/json" },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    if (reply.status >= 300) throw new Error(`POST ${path}: HTTP ${reply.status}: ${reply.body}`);
    return reply.body === "" ? {} : JSON.parse(reply.body);
  };
  const pod = await post("/pods/create", { name: uniqueName("pf"), netns: { nsmode: "none" } }) as { Id: string };
  const remove = async () => {
    await podman.request("DELETE", `/v4.0.0/libpod/pods/${pod.Id}?force=true`).catch(() => {});
  };
  try {
    await post(`/pods/${pod.Id}/start`);
    const script = [
      `echo "$PAGE" > /www/index.html`,
      `httpd -p ${PORTS.http} -h /www`,
      // IPv6 loopback only: the helper must fall back to [::1].
      `httpd -p [::1]:${PORTS.http6} -h /www`,
      `nc -ll -p ${PORTS.echo} -e cat &`,
      // A sink that reads 1 MiB at a time, then says how many bytes it took (busybox wc -c counts at ~350 MiB/s).
      `nc -ll -p ${PORTS.count} -e sh -c 'f=$(mktemp); dd of=$f bs=${MiB} 2>/dev/null; stat -c %s $f; rm -f $f' &`,
      // dd writes 1 MiB at a time: a source faster than what is measured (busybox head writes 4 KiB at a time).
      `nc -ll -p ${PORTS.zeros} -e sh -c 'dd if=/dev/zero bs=${MiB} count=${BIG / MiB} 2>/dev/null' &`,
      "exec sleep 100000",
    ].join("\n");
    const container = await post("/containers/create", {
      name: uniqueName("pf-web"),
      image: BUSYBOX_IMAGE,
      pod: pod.Id,
      command: ["/bin/sh", "-c", script],
      env: { PAGE: PAGE.trimEnd() },
    }) as { Id: string };
    await post(`/containers/${container.Id}/start`);
    const podInfo = JSON.parse((await podman.request("GET", `/v4.0.0/libpod/pods/${pod.Id}/json`)).body);
    const infra = JSON.parse(
      (await podman.request("GET", `/v4.0.0/libpod/containers/${podInfo.InfraContainerID}/json`)).body,
    );
    const infraPid = infra.State.Pid as number;
    assert.ok(infraPid > 0, "the infra container runs");
    return { id: pod.Id, infraPid, remove };
  } catch (err) {
    await remove();
    throw err;
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

Deno.test("the port-forward helper in our own network namespace: start failures, relay, half-close", async (t) => {
  await using dir = await makeTempDir("pf");
  const socketDir = `${dir.path}/portforward`;

  await t.step("a helper that exits at start is reported with what it said", async () => {
    await assert.rejects(
      openPodPortForwarder({
        infraPid: Deno.pid,
        socketDir,
        helperArgv: () => ["/bin/sh", "-c", "echo 'nsenter: cannot open /proc/1/ns/user' >&2; exit 3"],
      }),
      /Cannot start the port-forward helper in the network namespace of process \d+: it ended with exit code 3: nsenter: cannot open/,
    );
    assert.deepEqual([...Deno.readDirSync(socketDir)], [], "no socket left");
  });

  await t.step("a helper that cannot be executed is reported", async () => {
    await assert.rejects(
      openPodPortForwarder({ infraPid: Deno.pid, socketDir, helperArgv: () => ["/nonexistent/nsenter"] }),
      /Cannot start the port-forward helper: \/nonexistent\/nsenter: /,
    );
  });

  await t.step("a helper that never listens is killed after the start timeout", async () => {
    const marker = `${Date.now()}`;
    await assert.rejects(
      openPodPortForwarder({
        infraPid: Deno.pid,
        socketDir,
        startTimeoutMs: 300,
        helperArgv: () => ["/bin/sh", "-c", `exec sleep 60 ${marker}`],
      }),
      /did not listen within 300 ms/,
    );
    const sleepers = [...readProcessTable().keys()].filter((pid) => {
      try {
        return Deno.readTextFileSync(`/proc/${pid}/cmdline`).includes(marker);
      } catch {
        return false;
      }
    });
    assert.deepEqual(sleepers, []);
  });

  await t.step("an abort while starting kills the helper", async () => {
    const abort = new AbortController();
    const opening = openPodPortForwarder({
      infraPid: Deno.pid,
      socketDir,
      signal: abort.signal,
      helperArgv: () => ["/bin/sleep", "60"],
    });
    setTimeout(() => abort.abort(), 50);
    await assert.rejects(opening, (err: Error) => err.name === "AbortError");
  });

  await t.step("a pid that is gone is refused before anything starts", async () => {
    await assert.rejects(
      openPodPortForwarder({ infraPid: 4_194_000, socketDir }),
      /Cannot reach the network namespace of process 4194000/,
    );
  });

  await t.step("relays to a local server with half-close both ways, and cleans up", async () => {
    // An echo server that answers only once the client half-closed: "<bytes received>\n" then its own EOF.
    const server = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (server.addr as Deno.NetAddr).port;
    const serving = (async () => {
      for await (const conn of server) {
        let total = 0;
        const buffer = new Uint8Array(64 * 1024);
        for (let n = await conn.read(buffer); n !== null; n = await conn.read(buffer)) total += n;
        await conn.write(encoder.encode(`${total}\n`));
        conn.close();
      }
    })();
    const forwarder = await openPodPortForwarder({ infraPid: Deno.pid, socketDir });
    try {
      const result = await forwarder.connect(port);
      assert.ok(result.ok);
      await result.connection.write(new Uint8Array(3 * MiB));
      await result.connection.closeWrite();
      assert.equal(decoder.decode(await readAll(result.connection)), `${3 * MiB}\n`);
      result.connection.close();
    } finally {
      await forwarder.close();
      server.close();
      await serving.catch(() => {});
    }
    assert.deepEqual(leftovers(forwarder), []);
  });
});

Deno.test("port-forward into a rootless Podman pod's network namespace", async (t) => {
  await ensureBusyboxImage();
  await using podman = await startPodmanService();
  await using dir = await makeTempDir("pf");
  const socketDir = `${dir.path}/portforward`;
  const pod = await startServingPod(podman);
  const opened: HelperPortForwarder[] = [];
  const open = async (extra: Partial<Parameters<typeof openPodPortForwarder>[0]> = {}) => {
    const forwarder = await openPodPortForwarder({ infraPid: pod.infraPid, socketDir, ...extra });
    opened.push(forwarder);
    return forwarder;
  };
  try {
    let forwarder!: HelperPortForwarder;

    await t.step("the helper starts inside the pod's network namespace in tens of milliseconds", async () => {
      const startMs: number[] = [];
      for (let i = 0; i < 5; i++) {
        const t0 = performance.now();
        const f = await open();
        startMs.push(performance.now() - t0);
        if (i < 4) await f.close();
        else forwarder = f;
      }
      console.log(`helper start-up: median ${median(startMs).toFixed(1)} ms (${startMs.map((ms) => ms.toFixed(0))})`);
      assert.equal(
        Deno.readLinkSync(`/proc/${forwarder.helperPid}/ns/net`),
        Deno.readLinkSync(`/proc/${pod.infraPid}/ns/net`),
      );
      assert.notEqual(Deno.readLinkSync(`/proc/${forwarder.helperPid}/ns/net`), Deno.readLinkSync("/proc/self/ns/net"));
      assert.equal(Deno.statSync(socketDir).mode! & 0o777, 0o700, "a private socket directory");
      // The servers start right after the container: wait until each port answers.
      for (const port of [PORTS.http, PORTS.http6, PORTS.echo, PORTS.count, PORTS.zeros]) {
        await waitFor(async () => {
          const result = await forwarder.connect(port);
          if (result.ok) result.connection.close();
          return result.ok;
        }, { what: `port ${port} in the pod`, timeoutMs: 20_000 });
      }
    });

    await t.step("fetches a page from a port nobody published", async () => {
      const response = await httpGet(forwarder, PORTS.http);
      assert.match(response, /^HTTP\/1\.[01] 200 OK\r\n/);
      assert.ok(response.endsWith(PAGE), response);
      // Not reachable from the host's network namespace: the pod has no network but loopback.
      await assert.rejects(Deno.connect({ hostname: "127.0.0.1", port: PORTS.http }).then((c) => c.close()));
    });

    await t.step("reaches a server that listens on IPv6 loopback only", async () => {
      const v4 = await runInNetns(pod.infraPid, ["/bin/busybox", "nc", "127.0.0.1", String(PORTS.http6)], {
        timeoutMs: 5_000,
      });
      assert.notEqual(v4.code, 0, "nothing on 127.0.0.1");
      assert.ok((await httpGet(forwarder, PORTS.http6)).endsWith(PAGE));
    });

    await t.step("20 concurrent connections", async () => {
      const sequentialMs: number[] = [];
      for (let i = 0; i < 20; i++) {
        const c0 = performance.now();
        const result = await forwarder.connect(PORTS.http);
        sequentialMs.push(performance.now() - c0);
        if (result.ok) result.connection.close();
      }
      console.log(`sequential connects: median ${median(sequentialMs).toFixed(2)} ms`);
      const connectMs: number[] = [];
      const t0 = performance.now();
      const responses = await Promise.all(Array.from({ length: 20 }, async () => {
        const c0 = performance.now();
        const result = await forwarder.connect(PORTS.http);
        connectMs.push(performance.now() - c0);
        if (!result.ok) throw new Error(result.message);
        try {
          await result.connection.write(encoder.encode("GET / HTTP/1.0\r\n\r\n"));
          return decoder.decode(await readAll(result.connection));
        } finally {
          result.connection.close();
        }
      }));
      const totalMs = performance.now() - t0;
      for (const response of responses) assert.ok(response.endsWith(PAGE), response);
      console.log(
        `20 concurrent GETs: ${totalMs.toFixed(0)} ms in all; connect median ${median(connectMs).toFixed(2)} ms, ` +
          `max ${Math.max(...connectMs).toFixed(2)} ms`,
      );
    });

    await t.step("a closed port gives the client a message", async () => {
      assert.deepEqual(await forwarder.connect(PORTS.closed), {
        ok: false,
        message: `failed to connect to localhost:${PORTS.closed} inside the pod: connection refused`,
      });
      // Through the session, in kubelet's words.
      const client = memorySession();
      const serving = servePortForward(client.session, forwarder, { sandboxId: pod.id });
      const conn = client.open(PORTS.closed, []);
      await conn.done;
      client.end();
      await serving;
      assert.equal(
        conn.failed,
        `error forwarding port ${PORTS.closed} to pod ${pod.id}, uid : ` +
          `failed to connect to localhost:${PORTS.closed} inside the pod: connection refused`,
      );
      // servePortForward owns and closed it: open the next one.
      assert.deepEqual(leftovers(forwarder), []);
      forwarder = await open();
    });

    await t.step("echo: 8 MiB of random bytes come back whole after a half-close", async () => {
      const data = new Uint8Array(8 * MiB);
      for (let i = 0; i < data.length; i += 65536) crypto.getRandomValues(data.subarray(i, i + 65536));
      const result = await forwarder.connect(PORTS.echo);
      assert.ok(result.ok);
      // Write and read at once: cat echoes as it reads, so a writer that does not read would fill both buffers.
      const [, echoed] = await Promise.all([
        (async () => {
          await result.connection.write(data);
          await result.connection.closeWrite();
        })(),
        readAll(result.connection),
      ]);
      result.connection.close();
      assert.equal(echoed.length, data.length);
      assert.ok(echoed.every((b, i) => b === data[i]), "the same bytes");
    });

    await t.step("256 MiB each way through servePortForward, next to a direct connection inside the pod", async () => {
      const rounds = 3;
      const best = (runs: number[]) => Math.min(...runs);
      // Direct: a Deno program inside the namespace, same 64 KiB reads and 1 MiB writes (its start-up is not timed).
      const direct = async (code: string) => {
        const ran = await runInNetns(pod.infraPid, [Deno.execPath(), "eval", "--no-config", code], {
          timeoutMs: 120_000,
        });
        assert.equal(ran.code, 0, ran.stderr);
        return JSON.parse(ran.stdout) as { bytes: number; ms: number };
      };
      const directDown = [];
      const directUp = [];
      for (let i = 0; i < rounds; i++) {
        const down = await direct(
          `const c = await Deno.connect({ hostname: "127.0.0.1", port: ${PORTS.zeros} });
           const b = new Uint8Array(65536); let bytes = 0; const t0 = performance.now();
           for (let n = await c.read(b); n !== null; n = await c.read(b)) bytes += n;
           console.log(JSON.stringify({ bytes, ms: performance.now() - t0 }));`,
        );
        assert.equal(down.bytes, BIG);
        directDown.push(down.ms);
        const up = await direct(
          `const c = await Deno.connect({ hostname: "127.0.0.1", port: ${PORTS.count} });
           const chunk = new Uint8Array(${MiB}); const t0 = performance.now();
           for (let i = 0; i < ${
            BIG / MiB
          }; i++) for (let o = 0; o < chunk.length;) o += await c.write(chunk.subarray(o));
           await c.closeWrite();
           const b = new Uint8Array(4096); let text = "";
           for (let n = await c.read(b); n !== null; n = await c.read(b)) text += new TextDecoder().decode(b.subarray(0, n));
           console.log(JSON.stringify({ bytes: Number(text.trim()), ms: performance.now() - t0 }));`,
        );
        assert.equal(up.bytes, BIG);
        directUp.push(up.ms);
      }

      // The relay hop alone: this process reads the helper's unix socket.
      const rawDown = [];
      for (let i = 0; i < rounds; i++) {
        const t0 = performance.now();
        const raw = await forwarder.connect(PORTS.zeros);
        assert.ok(raw.ok);
        let bytes = 0;
        const buffer = new Uint8Array(64 * 1024);
        for (let n = await raw.connection.read(buffer); n !== null; n = await raw.connection.read(buffer)) bytes += n;
        raw.connection.close();
        rawDown.push(performance.now() - t0);
        assert.equal(bytes, BIG);
      }

      // The whole path: servePortForward's copy loops into a client that takes everything at once.
      const client = memorySession();
      const serving = servePortForward(client.session, forwarder);
      const serveDown = [];
      const serveUp = [];
      const chunk = new Uint8Array(MiB);
      for (let i = 0; i < rounds; i++) {
        const t0 = performance.now();
        const down = client.open(PORTS.zeros, []);
        await down.done;
        serveDown.push(performance.now() - t0);
        assert.equal(down.failed, undefined);
        assert.equal(down.received, BIG);
        // Upload: 1 MiB chunks, EOF, and the pod answers how many bytes it took.
        const t1 = performance.now();
        const up = client.open(
          PORTS.count,
          (function* () {
            for (let i = 0; i < BIG / MiB; i++) yield chunk;
          })(),
        );
        await up.done;
        serveUp.push(performance.now() - t1);
        assert.equal(up.head().trim(), String(BIG));
      }
      client.end();
      await serving;
      forwarder = await open(); // servePortForward closed the one it was given

      const rate = (ms: number) => BIG / MiB / (ms / 1000);
      const ratio = (ms: number, baseMs: number) => (rate(ms) / rate(baseMs)).toFixed(2);
      console.log(
        `256 MiB, best of ${rounds} (MiB/s): down: direct in the netns ${rate(best(directDown)).toFixed(0)}, ` +
          `through the helper ${rate(best(rawDown)).toFixed(0)} (${ratio(best(rawDown), best(directDown))}x), ` +
          `servePortForward ${rate(best(serveDown)).toFixed(0)} (${ratio(best(serveDown), best(directDown))}x); ` +
          `up: direct ${rate(best(directUp)).toFixed(0)}, servePortForward ${rate(best(serveUp)).toFixed(0)} ` +
          `(${ratio(best(serveUp), best(directUp))}x)`,
      );
      // Generous floors: the point is "no pathological slowdown", not a benchmark gate on a shared 2-core host.
      assert.ok(rate(best(serveDown)) > 50, `download at ${rate(best(serveDown)).toFixed(1)} MiB/s`);
      assert.ok(rate(best(serveUp)) > 50, `upload at ${rate(best(serveUp)).toFixed(1)} MiB/s`);
    });

    await t.step("close() ends the helper and removes its socket", async () => {
      const f = await open();
      const result = await f.connect(PORTS.http);
      assert.ok(result.ok, "a connection still open at close");
      await f.close();
      assert.deepEqual(leftovers(f), []);
      await assert.rejects(result.connection.read(new Uint8Array(10)));
      assert.deepEqual(await f.connect(PORTS.http), { ok: false, message: "the port-forward session is closing" });
    });

    await t.step("an aborted session ends the helper and removes its socket", async () => {
      const session = new AbortController();
      const f = await open({ signal: session.signal });
      const result = await f.connect(PORTS.echo);
      assert.ok(result.ok);
      session.abort();
      await f.close(); // the same close the abort started
      assert.deepEqual(leftovers(f), []);
    });

    await t.step("a helper that dies is reported, and its socket removed", async () => {
      const logged: string[] = [];
      const log = {
        debug() {},
        info() {},
        warn: (msg: string) => void logged.push(msg),
        error() {},
        with() {
          return log;
        },
        enabled: () => true,
      };
      const f = await open({ log });
      Deno.kill(f.helperPid, "SIGKILL");
      await waitFor(() => f.failure, { what: "the helper's death to be noticed" });
      assert.match(f.failure!, /port-forward helper for this pod ended \(signal SIGKILL\)/);
      assert.deepEqual(logged, ["port-forward helper exited"]);
      const after = await f.connect(PORTS.http);
      assert.equal(after.ok, false);
      assert.match((after as { message: string }).message, /ended \(signal SIGKILL\)/);
      await f.close();
      assert.deepEqual(leftovers(f), []);
    });

    await t.step("the helper ends on its own when the process that started it is killed", async () => {
      const module = new URL("../src/streaming/pod_ports.ts", import.meta.url).href;
      const parent = new Deno.Command(Deno.execPath(), {
        args: [
          "eval",
          `import { openPodPortForwarder } from ${JSON.stringify(module)};
           const f = await openPodPortForwarder({ infraPid: ${pod.infraPid}, socketDir: ${JSON.stringify(socketDir)} });
           console.log(JSON.stringify({ pid: f.helperPid, socketPath: f.socketPath }));
           await new Promise(() => {});`,
        ],
        stdin: "null",
        stdout: "piped",
        stderr: "inherit",
      }).spawn();
      const reader = parent.stdout.getReader();
      let line = "";
      while (!line.includes("\n")) {
        const { value, done } = await reader.read();
        if (done) break;
        line += decoder.decode(value);
      }
      const helper = JSON.parse(line) as { pid: number; socketPath: string };
      assert.ok(processExists(helper.pid));
      parent.kill("SIGKILL");
      await parent.status;
      await reader.cancel();
      await waitFor(() => !processExists(helper.pid), { what: "the orphaned helper to exit", timeoutMs: 5_000 });
      await waitFor(() => {
        try {
          Deno.lstatSync(helper.socketPath);
          return false;
        } catch {
          return true;
        }
      }, { what: "the orphaned helper's socket to go", timeoutMs: 5_000 });
    });

    await t.step(`the hidden command path (${PORT_FORWARD_HELPER_COMMAND}) of a compiled binary works`, async () => {
      // A compiled cri-podman runs `<self> __portforward-helper SOCKET`; stand in for it with a module import.
      const module = new URL("../src/streaming/pod_ports.ts", import.meta.url).href;
      const self = [
        Deno.execPath(),
        "eval",
        "--no-config",
        `import { PORT_FORWARD_HELPER_COMMAND, runPortForwardHelper } from ${JSON.stringify(module)};
         if (Deno.args[0] !== PORT_FORWARD_HELPER_COMMAND) Deno.exit(9);
         Deno.exit(await runPortForwardHelper(Deno.args.slice(1)));`,
        "--",
      ];
      const t0 = performance.now();
      const f = await open({ helperArgv: (socketPath) => [...self, PORT_FORWARD_HELPER_COMMAND, socketPath] });
      console.log(`hidden-command helper start-up: ${(performance.now() - t0).toFixed(1)} ms`);
      assert.ok((await httpGet(f, PORTS.http)).endsWith(PAGE));
      await f.close();
      assert.deepEqual(leftovers(f), []);
    });
  } finally {
    for (const f of opened) await f.close();
    await pod.remove();
  }
  for (const f of opened) assert.deepEqual(leftovers(f), []);
  assert.deepEqual([...Deno.readDirSync(socketDir)], [], "no socket file left in the directory");
});
