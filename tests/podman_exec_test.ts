/**
 * Integration: PodmanExec (ExecSync's engine) against a real rootless Podman — streams kept apart, stdin, output
 * caps, timeouts that kill everything the command started, cancellation, and the errors of each failure. The pure
 * frame demuxer and output sink are tested beside the code (src/podman/exec_test.ts).
 */
import assert from "node:assert/strict";
import { CriError } from "../src/errors.ts";
import { isPodmanFailure } from "../src/podman/errors.ts";
import { PodmanHttp } from "../src/podman/client.ts";
import { killProcessTree } from "../src/host/processes.ts";
import { PodmanExec } from "../src/podman/exec.ts";
import { ensureBusyboxImage } from "./harness/busybox_image.ts";
import { type PodmanService, startPodmanService } from "./harness/podman_service.ts";
import { processExists, uniqueName, waitFor } from "./harness/temp.ts";

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
// undici (PodmanHttp's client) keeps a module-wide 499 ms clock timer (lib/util/timers.js) for ~1 s past its last
// connection, and Deno 2.9 reports a pending timer under either sanitizer: both stay off for this test.
const UNDICI_CLOCK = { sanitizeOps: false, sanitizeResources: false };

/** Creates and starts a container that idles (a shell loop as PID 1 reaps orphans) and returns its id. */
async function startIdleContainer(podman: PodmanService, image: string, extra: Record<string, unknown> = {}) {
  const create = await podman.request("POST", "/v4.0.0/libpod/containers/create", {
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      name: uniqueName("exec"),
      image,
      entrypoint: ["/bin/sh", "-c", "trap 'exit 0' TERM; while :; do sleep 1; done"],
      netns: { nsmode: "none" },
      ...extra,
    }),
  });
  assert.equal(create.status, 201, create.body);
  const id = (JSON.parse(create.body) as { Id: string }).Id;
  if (extra.start !== false) {
    const start = await podman.request("POST", `/v4.0.0/libpod/containers/${id}/start`);
    assert.equal(start.status, 204, start.body);
  }
  return id;
}

async function removeContainer(podman: PodmanService, id: string): Promise<void> {
  await podman.request("DELETE", `/v4.0.0/libpod/containers/${id}?force=true&timeout=0`).catch(() => {});
}

/** Lists the command lines of the processes in a container, through another exec. */
async function processesIn(exec: PodmanExec, id: string): Promise<string[]> {
  const ps = await exec.run(id, ["ps", "-o", "pid,args"], { timeoutMs: 10_000 });
  assert.equal(ps.exitCode, 0, text(ps.stderr));
  return text(ps.stdout).trim().split("\n").slice(1).map((l) => l.trim());
}

/** Pids of host processes whose command line is exactly `cmdline` (NUL-separated argv joined by spaces). */
async function hostPidsOf(cmdline: string): Promise<number[]> {
  const pids: number[] = [];
  for await (const entry of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const raw = await Deno.readTextFile(`/proc/${entry.name}/cmdline`);
      if (raw.split("\0").filter(Boolean).join(" ") === cmdline && processExists(Number(entry.name))) {
        pids.push(Number(entry.name));
      }
    } catch {
      // Gone.
    }
  }
  return pids;
}

Deno.test("PodmanExec.run() against a real rootless Podman", UNDICI_CLOCK, async (t) => {
  const image = "localhost/cri-podman-test/busybox:latest";
  await ensureBusyboxImage(image);
  await using podman = await startPodmanService();
  const http = new PodmanHttp(podman.socketPath);
  const exec = new PodmanExec(http);
  const created: string[] = [];
  // A tag unique to this run, so process checks never see another test's sleeps.
  const tag = String(1000 + Math.floor(Math.random() * 8000));
  try {
    const root = await startIdleContainer(podman, image);
    created.push(root);
    const nobody = await startIdleContainer(podman, image, { user: "65534" });
    created.push(nobody);

    await t.step("run() keeps stdout and stderr apart and reports a non-zero exit code", async () => {
      const r = await exec.run(root, ["sh", "-c", "echo out; echo err >&2; echo out2; exit 3"]);
      assert.deepEqual(
        { exitCode: r.exitCode, stdout: text(r.stdout), stderr: text(r.stderr), timedOut: r.timedOut },
        { exitCode: 3, stdout: "out\nout2\n", stderr: "err\n", timedOut: false },
      );
      assert.equal(r.truncated, false);
    });

    await t.step("run() reports 127 for a command that does not exist, with Podman's reason on stderr", async () => {
      const r = await exec.run(root, ["/no/such/binary"]);
      assert.equal(r.exitCode, 127);
      assert.match(text(r.stderr), /no such file or directory/i);
    });

    await t.step("run() delivers stdin followed by EOF", async () => {
      const r = await exec.run(root, ["cat"], { stdin: new TextEncoder().encode("hello\nworld") });
      assert.equal(r.exitCode, 0);
      assert.equal(text(r.stdout), "hello\nworld");
      const big = new Uint8Array(3 * 1024 * 1024).map((_, i) => i % 251);
      const r2 = await exec.run(root, ["sh", "-c", "cat | md5sum; echo done >&2"], { stdin: big });
      assert.equal(text(r2.stdout).split(" ")[0], await md5Hex(big));
      assert.equal(text(r2.stderr), "done\n");
    });

    await t.step("run() without stdin gives the command an immediate EOF", async () => {
      const r = await exec.run(root, ["cat"], { timeoutMs: 10_000 });
      assert.deepEqual({ exitCode: r.exitCode, out: text(r.stdout), timedOut: r.timedOut }, {
        exitCode: 0,
        out: "",
        timedOut: false,
      });
    });

    await t.step("run() caps each output at 16 MiB by default and keeps reading past the cap", async () => {
      const r = await exec.run(root, ["sh", "-c", "head -c 20971520 /dev/zero; echo tail >&2"]);
      assert.equal(r.exitCode, 0);
      assert.equal(r.stdout.length, 16 * 1024 * 1024);
      assert.equal(r.truncated, true);
      assert.equal(text(r.stderr), "tail\n");
    });

    await t.step("run() caps at maxOutputBytes", async () => {
      const r = await exec.run(root, ["echo", "0123456789abcdef"], { maxOutputBytes: 10 });
      assert.equal(text(r.stdout), "0123456789");
      assert.equal(r.truncated, true);
    });

    await t.step("run() passes env, user and working directory", async () => {
      const r = await exec.run(root, ["sh", "-c", 'echo "$FOO"; id -u; pwd'], {
        env: ["FOO=bar baz"],
        user: "65534",
        workDir: "/tmp",
      });
      assert.equal(text(r.stdout), "bar baz\n65534\n/tmp\n");
    });

    for (const [who, id] of [["root", () => root], ["uid 65534", () => nobody]] as const) {
      await t.step(`run() kills a timed-out command and all it started (container user ${who})`, async () => {
        const cases = [
          ["sleep", `${tag}1`],
          ["sh", "-c", `sleep ${tag}2 & sleep ${tag}3`],
          ["sh", "-c", `sleep ${tag}4 & setsid sleep ${tag}5 & sleep ${tag}6; echo never`],
        ];
        for (const argv of cases) {
          const started = performance.now();
          const r = await exec.run(id(), argv, { timeoutMs: 700 });
          const elapsed = performance.now() - started;
          assert.equal(
            r.timedOut,
            true,
            `${argv.join(" ")}: ${JSON.stringify({ ...r, stdout: text(r.stdout), stderr: text(r.stderr) })}`,
          );
          assert.equal(r.exitCode, 137, argv.join(" "));
          assert.ok(elapsed < 4_000, `returned after ${Math.round(elapsed)} ms`);
          assert.equal(text(r.stdout), "");
        }
        const left = (await processesIn(exec, id())).filter((line) => line.includes(`sleep ${tag}`));
        assert.deepEqual(left, []);
        for (let n = 1; n <= 6; n++) assert.deepEqual(await hostPidsOf(`sleep ${tag}${n}`), [], `sleep ${tag}${n}`);
      });
    }

    await t.step("run() keeps output written before the timeout", async () => {
      const r = await exec.run(root, ["sh", "-c", "echo before; echo err >&2; sleep 30"], { timeoutMs: 700 });
      assert.equal(r.timedOut, true);
      assert.equal(text(r.stdout), "before\n");
      assert.equal(text(r.stderr), "err\n");
    });

    await t.step("killProcessTree() reaches subuid processes through nsenter as well", async () => {
      const pending = exec.run(nobody, ["sh", "-c", `sleep ${tag}7 & sleep ${tag}8; echo never`], {
        timeoutMs: 20_000,
      });
      const [pid] = await waitFor(async () => {
        const pids = await hostPidsOf(`sh -c sleep ${tag}7 & sleep ${tag}8; echo never`);
        return pids.length > 0 && (await hostPidsOf(`sleep ${tag}7`)).length > 0 && pids;
      }, { what: "the exec'd shell" });
      const owner = Number((await Deno.readTextFile(`/proc/${pid}/status`)).match(/^Uid:\s+(\d+)/m)![1]);
      assert.notEqual(owner, Deno.uid(), "runs as a subuid");
      const killed = await killProcessTree(pid!, { viaNsenter: true });
      assert.equal(killed.length, 3, `shell and two sleeps: ${killed}`);
      const r = await pending;
      assert.equal(r.exitCode, 137);
      assert.equal(r.timedOut, false);
      assert.deepEqual(await hostPidsOf(`sleep ${tag}7`), []);
      assert.deepEqual(await hostPidsOf(`sleep ${tag}8`), []);
    });

    await t.step("run() kills the command and rejects with Canceled when the caller aborts", async () => {
      const controller = new AbortController();
      const pending = exec.run(root, ["sleep", `${tag}9`], { signal: controller.signal });
      await waitFor(async () => (await hostPidsOf(`sleep ${tag}9`)).length > 0, { what: "the sleep" });
      controller.abort();
      await assert.rejects(pending, (err: unknown) => err instanceof CriError && err.code === "Canceled");
      await waitFor(async () => (await hostPidsOf(`sleep ${tag}9`)).length === 0, { what: "the sleep to die" });
    });

    await t.step("run() rejects with NotFound for an unknown container", async () => {
      await assert.rejects(
        exec.run(uniqueName("absent"), ["true"]),
        (err: unknown) => err instanceof CriError && err.code === "NotFound",
      );
    });

    await t.step(
      "run() rejects with reason not-running (FailedPrecondition) for a container that is not running",
      async () => {
        const idle = await startIdleContainer(podman, image, { start: false });
        created.push(idle);
        await assert.rejects(exec.run(idle, ["true"]), (err: unknown) => {
          assert.ok(isPodmanFailure(err, "not-running"), String(err));
          assert.equal(err.code, "FailedPrecondition");
          return true;
        });
      },
    );

    await t.step("run() rejects with Unavailable when nothing listens on the socket", async () => {
      const nowhere = new PodmanExec(`${podman.socketPath}.absent`);
      try {
        await assert.rejects(
          nowhere.run(root, ["true"]),
          (err: unknown) => err instanceof CriError && err.code === "Unavailable",
        );
      } finally {
        await nowhere.close();
      }
    });

    await t.step("run() rejects with Unavailable when Podman goes away while the command runs", async () => {
      // Settled (not awaited) at once: the rejection comes while the service is still shutting down.
      const outcome = exec.run(root, ["sh", "-c", `echo started; sleep ${tag}0`]).catch((err: unknown) => err);
      await waitFor(async () => (await hostPidsOf(`sleep ${tag}0`)).length > 0, { what: "the command" });
      await podman.stop();
      const err = await outcome;
      assert.ok(err instanceof CriError && err.code === "Unavailable", String(err));
      // The containers outlive the service; bring it back to remove them.
      await podman.restart();
    });
  } finally {
    for (const id of created) await removeContainer(podman, id);
    await exec.close();
    await http.close();
  }
});

async function md5Hex(bytes: Uint8Array): Promise<string> {
  const child = new Deno.Command("md5sum", { stdin: "piped", stdout: "piped" }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(bytes);
  await writer.close();
  const { stdout } = await child.output();
  return text(stdout).split(" ")[0]!;
}
