/**
 * Integration: the Podman service under cri-podman on real rootless Podman — the embedded service survives a crash
 * of cri-podman and is recognised afterwards, a service that cannot start fails at once in its own words, a frozen
 * Podman does not freeze Status, a shutdown finishes a stop in flight, pod churn leaves no zombies, and a Podman
 * whose OCI runtime cannot run containers here is given one that can (embedded) or reported (external).
 */
import { netnsKeeperName } from "../src/translate/sandbox.ts";
import assert from "node:assert/strict";
import { NamespaceMode } from "../src/gen/runtime/v1/api_pb.ts";
import { OciRuntimeProbes } from "../src/host/oci_runtime.ts";
import { zombieChildren } from "../src/host/processes.ts";
import { run } from "./harness/_process.ts";
import { ensureBusyboxImage } from "./harness/busybox_image.ts";
import type { CriClient } from "./harness/cri_client.ts";
import { type CriServer, startCriServer } from "./harness/cri_server.ts";
import { startPodmanService } from "./harness/podman_service.ts";
import { makeTempDir, processExists, uniqueName, waitFor } from "./harness/temp.ts";

const MOD_TS = new URL("../mod.ts", import.meta.url).pathname;
const DENO_JSON = new URL("../deno.json", import.meta.url).pathname;

/** The embedded service's pid file, next to its socket. */
async function servicePid(podmanSocket: string): Promise<number> {
  return JSON.parse(await Deno.readTextFile(`${podmanSocket}.cri-podman.pid`)).pid;
}

/** Runs a pod with one long-running container; returns their IDs. */
async function podWithContainer(client: CriClient, logDir: string, image: string, command = ["sleep", "3600"]) {
  const name = uniqueName("svc");
  const sandboxConfig = {
    metadata: { name, namespace: "svc-test", uid: `${name}-uid`, attempt: 0 },
    hostname: "svc",
    logDirectory: `${logDir}/${name}`,
    linux: { securityContext: { namespaceOptions: { network: NamespaceMode.POD, pid: NamespaceMode.CONTAINER } } },
  };
  const { podSandboxId } = await client.runtime.runPodSandbox({ config: sandboxConfig });
  const { containerId } = await client.runtime.createContainer({
    podSandboxId,
    config: { metadata: { name: "c" }, image: { image }, command, logPath: "c.log" },
    sandboxConfig,
  });
  await client.runtime.startContainer({ containerId });
  return { podSandboxId, containerId };
}

/** Podman's own view of a container's state (the CLI reads the same storage). */
async function podmanState(id: string): Promise<string> {
  return (await run("podman", ["inspect", "--format", "{{.State.Status}}", id])).trim();
}

Deno.test(
  "embedded Podman outlives a SIGKILLed cri-podman unharmed, is recognised by the next one and stopped on exit",
  async (t) => {
    const image = await ensureBusyboxImage();
    await using dir = await makeTempDir("crash");
    const podmanSocket = `${dir.path}/podman.sock`;
    const listen = `${dir.path}/cri.sock`;
    const first = await startCriServer({ podmanSocket, listen, embeddedPodman: true });
    const { podSandboxId, containerId } = await podWithContainer(first.client, dir.path, image);
    const orphan = await servicePid(podmanSocket);

    await t.step("after SIGKILL of cri-podman its Podman service goes on serving", async () => {
      first.process.kill("SIGKILL");
      await first.process.exited;
      first.client.close();
      // Not first.stop(): the harness would remove its network, and with it the pod, by force.
      assert.ok(processExists(orphan));
      const ping = await run("curl", ["-s", "--unix-socket", podmanSocket, "http://d/v4.0.0/libpod/_ping"]);
      assert.equal(ping, "OK");
    });

    let second: CriServer | undefined;
    try {
      await t.step("the next cri-podman stops that service and starts its own", async () => {
        second = await startCriServer({ podmanSocket, listen, embeddedPodman: true });
        assert.match(
          second.log(),
          new RegExp(`stopping the Podman service a previous cri-podman left running pid=${orphan}`),
        );
        assert.ok(!processExists(orphan), "the orphan is gone");
        assert.notEqual(await servicePid(podmanSocket), orphan);
      });

      await t.step("containers from before stop and are removed (no broken pipe)", async () => {
        await second!.client.runtime.stopContainer({ containerId, timeout: 0n });
        // The process is gone when the call returns ("stopped"); conmon's clean-up process makes it "exited".
        assert.match(await podmanState(containerId), /^(stopped|exited)$/);
        await waitFor(async () => (await podmanState(containerId)) === "exited", {
          timeoutMs: 10_000,
          what: "conmon's clean-up to record the exit",
        });
        await second!.client.runtime.stopPodSandbox({ podSandboxId });
        await second!.client.runtime.removePodSandbox({ podSandboxId });
      });

      await t.step("SIGTERM stops the embedded service, removes its pid file, and no restart follows", async () => {
        const pid = await servicePid(podmanSocket);
        assert.equal(await second!.stop(), 0);
        assert.ok(!processExists(pid));
        await assert.rejects(Deno.stat(`${podmanSocket}.cri-podman.pid`), Deno.errors.NotFound);
        const afterStop = second!.log().slice(second!.log().indexOf("stopping"));
        assert.doesNotMatch(afterStop, /restart|ERROR/);
      });
    } finally {
      await second?.[Symbol.asyncDispose]();
      await first[Symbol.asyncDispose]();
      await run("podman", ["pod", "rm", "--force", "--ignore", podSandboxId]).catch(() => {});
    }
  },
);

Deno.test(
  "an embedded Podman that cannot start fails the start at once, in its own words, without retrying",
  async () => {
    await using dir = await makeTempDir("failing");
    const count = `${dir.path}/runs`;
    const fake = `${dir.path}/podman`;
    // What Podman printed when $XDG_RUNTIME_DIR/podman was missing, and its exit status.
    await Deno.writeTextFile(
      fake,
      `#!/bin/sh\necho run >> ${count}\necho 'Error: unable to create socket: listen unix x: bind: no such file or directory' >&2\nexit 125\n`,
    );
    await Deno.chmod(fake, 0o755);
    const t0 = performance.now();
    const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-all", "--config", DENO_JSON, MOD_TS, "serve", "--listen", `${dir.path}/cri.sock`],
      env: { NO_COLOR: "1", CRI_PODMAN_PODMAN_SOCKET: `${dir.path}/podman.sock`, CRI_PODMAN_PODMAN_BINARY: fake },
      stdin: "null",
    }).output();
    const ms = performance.now() - t0;
    const err = new TextDecoder().decode(stderr);
    assert.equal(code, 2, err);
    assert.equal(new TextDecoder().decode(stdout), "");
    const lines = err.split("\n").filter((l) => l.startsWith("cri-podman:"));
    assert.equal(lines.length, 1, err);
    assert.match(lines[0]!, /exited with status 125 before it answered; it said: Error: unable to create socket/);
    assert.equal((await Deno.readTextFile(count)).trim().split("\n").length, 1, "started once, not retried");
    assert.ok(ms < 10_000, `gave up after ${ms} ms`);
  },
);

Deno.test(
  "a CRI socket that cannot be made stops the start before Podman, in one line",
  async () => {
    await using dir = await makeTempDir("nolisten");
    const { code, stderr } = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-all", "--config", DENO_JSON, MOD_TS, "serve", "--listen", "/proc/cri-podman/cri.sock"],
      env: { NO_COLOR: "1", CRI_PODMAN_PODMAN_SOCKET: `${dir.path}/podman.sock` },
      stdin: "null",
    }).output();
    const err = new TextDecoder().decode(stderr);
    assert.equal(code, 2, err);
    assert.match(err, /^cri-podman: Cannot listen on "\/proc\/cri-podman\/cri.sock" \(listen\): /m);
    assert.doesNotMatch(err, /^\s+at /m, "no stack trace");
    assert.doesNotMatch(err, /started podman service/);
    await assert.rejects(Deno.stat(`${dir.path}/podman.sock`), Deno.errors.NotFound);
  },
);

Deno.test(
  "a streaming TLS file that cannot be read stops the start before Podman, in one line naming the keys",
  async () => {
    await using dir = await makeTempDir("notls");
    const { code, stderr } = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-all", "--config", DENO_JSON, MOD_TS, "serve", "--listen", `${dir.path}/cri.sock`],
      env: {
        NO_COLOR: "1",
        CRI_PODMAN_PODMAN_SOCKET: `${dir.path}/podman.sock`,
        CRI_PODMAN_STREAMING_TLS_CERT: `${dir.path}/missing-cert.pem`,
        CRI_PODMAN_STREAMING_TLS_KEY: `${dir.path}/missing-key.pem`,
      },
      stdin: "null",
    }).output();
    const err = new TextDecoder().decode(stderr);
    assert.equal(code, 2, err);
    assert.match(
      err,
      /^cri-podman: Cannot read the streaming server's TLS files \(streaming.tls_cert, streaming.tls_key\)/m,
    );
    assert.doesNotMatch(err, /started podman service/);
    await assert.rejects(Deno.stat(`${dir.path}/podman.sock`), Deno.errors.NotFound, "Podman was never started");
  },
);

Deno.test("Status answers within its budget and says not ready while Podman hangs", async () => {
  await using podman = await startPodmanService();
  await using cri = await startCriServer({ podmanSocket: podman.socketPath });
  await cri.client.runtime.status({});
  podman.kill("SIGSTOP");
  try {
    const t0 = performance.now();
    const s = await cri.client.runtime.status({}, { timeoutMs: 8_000 });
    const ms = performance.now() - t0;
    const ready = s.status?.conditions.find((c) => c.type === "RuntimeReady");
    assert.equal(ready?.status, false);
    assert.equal(ready?.reason, "PodmanNotResponding");
    assert.ok(ms < 3_000, `Status took ${ms} ms`);
  } finally {
    podman.kill("SIGCONT");
  }
  await waitFor(async () => {
    const s = await cri.client.runtime.status({});
    return s.status?.conditions.find((c) => c.type === "RuntimeReady")?.status === true;
  }, { timeoutMs: 10_000, what: "RuntimeReady again" });
});

Deno.test(
  "a shutdown whose grace runs out finishes a StopContainer in flight, says so, and then stops Podman",
  async () => {
    const image = await ensureBusyboxImage();
    await using dir = await makeTempDir("shutdown");
    const podmanSocket = `${dir.path}/podman.sock`;
    await using cri = await startCriServer({
      podmanSocket,
      embeddedPodman: true,
      env: { CRI_PODMAN_SHUTDOWN_GRACE_SECONDS: "1" },
    });
    // A process that ignores SIGTERM: the stop takes its whole timeout, then Podman kills it.
    const { podSandboxId, containerId } = await podWithContainer(cri.client, dir.path, image, [
      "sh",
      "-c",
      "trap '' TERM; while true; do sleep 0.1; done",
    ]);
    const podmanPid = await servicePid(podmanSocket);
    try {
      const stopping = cri.client.runtime.stopContainer({ containerId, timeout: 2n }).catch((err) => err);
      // In flight: the stop signal went out and the 2 s timeout runs (cri-podman watches the process itself, so
      // Podman never shows "stopping"; the call is still running when the shutdown begins).
      await new Promise((resolve) => setTimeout(resolve, 500));
      // SIGTERM by hand: the harness's stop() would also remove its network, and with it the container.
      cri.process.kill("SIGTERM");
      assert.equal((await cri.process.exited).code, 0);
      await stopping;
      const log = cri.log();
      assert.match(log, /shutdown grace passed with calls in flight.*inFlight="StopContainer/);
      assert.doesNotMatch(log, /canceled by the client/);
      assert.doesNotMatch(log, /still unfinished/);
      assert.ok(!processExists(podmanPid), "the embedded Podman was stopped after the stop completed");
      // Podman records the exit through conmon's clean-up process, which does not need the service.
      await waitFor(async () => (await podmanState(containerId)) === "exited", {
        timeoutMs: 10_000,
        what: "the container to be exited, not left in Podman's stopping state",
      });
    } finally {
      await run("podman", ["pod", "rm", "--force", "--ignore", podSandboxId]).catch(() => {});
    }
  },
);

Deno.test("pods that come and go one at a time leave no zombie under the Podman service", async () => {
  const image = await ensureBusyboxImage();
  await using dir = await makeTempDir("zombies");
  const podmanSocket = `${dir.path}/podman.sock`;
  await using cri = await startCriServer({ podmanSocket, embeddedPodman: true });
  for (let i = 0; i < 4; i++) {
    const { podSandboxId } = await podWithContainer(cri.client, dir.path, image);
    await cri.client.runtime.stopPodSandbox({ podSandboxId });
    await cri.client.runtime.removePodSandbox({ podSandboxId });
  }
  // Each teardown of Podman's rootless network namespace left one defunct slirp4netns here; the keeper pod
  // keeps that namespace (and its one slirp4netns) for good.
  assert.deepEqual(zombieChildren(await servicePid(podmanSocket)), []);
  const keeper = (await run("podman", ["pod", "inspect", "--format", "{{.State}}", netnsKeeperName(cri.network)]))
    .trim();
  assert.equal(keeper, "Running");
});

Deno.test(
  "a Podman whose OCI runtime cannot run containers here: the embedded one gets one that can, an external one is reported",
  async (t) => {
    await using dir = await makeTempDir("ociruntime");
    // Podman configured with crun alone (CONTAINERS_CONF replaces every other containers.conf).
    const conf = `${dir.path}/containers.conf`;
    await Deno.writeTextFile(conf, '[engine]\nruntime = "crun"\n');
    const probes = new OciRuntimeProbes({
      workDir: `${dir.path}/probe`,
      uid: Deno.uid()!,
      gid: Deno.gid()!,
      pathEnv: Deno.env.get("PATH") ?? "",
    });
    const crun = (await probes.installed()).find((r) => r.name === "crun");
    if (!crun) return; // nothing to show on a host without crun
    const crunWorks = (await probes.verdict(crun.path)).usable !== false;
    const image = await ensureBusyboxImage();

    await t.step("embedded: Status is ready and a pod runs", async () => {
      const podmanSocket = `${dir.path}/podman.sock`;
      await using cri = await startCriServer({ podmanSocket, embeddedPodman: true, env: { CONTAINERS_CONF: conf } });
      const s = await cri.client.runtime.status({ verbose: true });
      for (const c of s.status?.conditions ?? []) assert.equal(c.status, true, `${c.type}: ${c.message}`);
      if (crunWorks) {
        assert.equal(s.info["ociRuntimeOverride"], undefined);
      } else {
        assert.match(cri.log(), /Podman's OCI runtime cannot run containers on this host.*runtime="crun".*using="/);
        assert.equal(JSON.parse(s.info["ociRuntimeOverride"] ?? "{}").from, "crun");
        assert.notEqual(JSON.parse(s.info["podman"] ?? "{}").ociRuntime, "crun");
      }
      const { podSandboxId } = await podWithContainer(cri.client, dir.path, image);
      await cri.client.runtime.removePodSandbox({ podSandboxId });
    });

    await t.step("external: Status says not ready, why, and how to fix it", async () => {
      await using podman = await startPodmanService({ env: { CONTAINERS_CONF: conf } });
      await using cri = await startCriServer({ podmanSocket: podman.socketPath });
      const ready = (await cri.client.runtime.status({})).status?.conditions.find((c) => c.type === "RuntimeReady");
      if (crunWorks) {
        assert.equal(ready?.status, true);
      } else {
        assert.equal(ready?.status, false);
        assert.equal(ready?.reason, "OCIRuntimeUnusable");
        assert.match(ready?.message ?? "", /crun cannot run containers on this host \(.+\): set runtime = "runc"/);
      }
    });
  },
);
