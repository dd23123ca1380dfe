/**
 * The README's start commands on a machine where cri-podman never ran: each as a brand-new user with no Podman
 * configuration, no container storage and no Deno cache, then a pod and a container through the socket it serves.
 * Needs root (it creates users), so `scripts/test.sh` runs it in its root phase (`deno task test:first-run`). Its name
 * does not end in `_test.ts` on purpose: `deno test src/ tests/` (the unprivileged suites) does not pick it up.
 */
import assert from "node:assert/strict";
import { ContainerState, PodSandboxState } from "../src/gen/runtime/v1/api_pb.ts";
import { writeBusyboxRootfsTar } from "./harness/busybox_image.ts";
import { BUSYBOX_CONFIG } from "./harness/busybox_image.ts";
import { connectCri, type CriClient } from "./harness/cri_client.ts";
import { pushLayerImage, type Registry, startRegistry } from "./harness/registry.ts";
import { createSystemUser, existingSystemUser, newUserName, type SystemUser } from "./harness/system_user.ts";
import { makeTempDir, waitFor } from "./harness/temp.ts";

const REPO = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const asRoot = Deno.uid() === 0;
/** How this machine reaches the npm registry: a new user's `deno task start` downloads its packages. */
const PASS_THROUGH = [
  "HTTP_PROXY",
  "HTTPS_PROXY",
  "NO_PROXY",
  "http_proxy",
  "https_proxy",
  "no_proxy",
  "SSL_CERT_FILE",
  "SSL_CERT_DIR",
  "NODE_EXTRA_CA_CERTS",
  "DENO_CERT",
  "NPM_CONFIG_REGISTRY",
];

/** A start command running in the background, its output in a file. */
interface Started {
  child: Deno.ChildProcess;
  logPath: string;
  log(): string;
}

function startCommand(
  cmd: string,
  args: string[],
  opts: { cwd: string; env: Record<string, string>; logDir: string },
): Started {
  const logPath = `${opts.logDir}/start-${Date.now()}.log`;
  const child = new Deno.Command("bash", {
    args: ["-c", 'exec "$@" >"$FIRST_RUN_LOG" 2>&1', "bash", cmd, ...args],
    cwd: opts.cwd,
    clearEnv: true,
    env: { ...opts.env, FIRST_RUN_LOG: logPath, PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" },
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  return { child, logPath, log: () => Deno.readTextFileSync(logPath) };
}

/**
 * `setpriv … -- env -i …` with a login's environment: what the user's own shell would have. setpriv execs, so a
 * signal to the start command's pid reaches the command itself, as it would from the user's terminal.
 */
function asUser(user: SystemUser, extra: Record<string, string> = {}): string[] {
  const env = [`HOME=${user.home}`, `USER=${user.name}`, `LOGNAME=${user.name}`, "LANG=C.UTF-8"];
  env.push("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
  for (const name of PASS_THROUGH) {
    const value = Deno.env.get(name);
    if (value) env.push(`${name}=${value}`);
  }
  for (const [k, v] of Object.entries(extra)) env.push(`${k}=${v}`);
  return [`--reuid=${user.uid}`, `--regid=${user.gid}`, "--init-groups", "--", "env", "-i", ...env];
}

/** Waits for `socket` to answer Version, or for the start command to end; returns the ms it took. */
async function waitServing(started: Started, socket: string, t0: number): Promise<{ ms: number; client: CriClient }> {
  let exited = false;
  started.child.status.then(() => exited = true);
  const client = connectCri(socket);
  try {
    await waitFor(async () => {
      if (exited) throw new Error(`the start command ended before serving:\n${started.log()}`);
      try {
        await Deno.stat(socket);
      } catch {
        return false;
      }
      return await client.runtime.version({}, { timeoutMs: 1_000 }).then(() => true, () => false);
    }, { timeoutMs: 240_000, intervalMs: 50, what: `cri-podman to serve on ${socket}` });
  } catch (err) {
    client.close();
    throw err;
  }
  return { ms: Math.round(performance.now() - t0), client };
}

/** Pulls the image, runs a pod with one container that writes a line, reads the line back, removes everything. */
async function drivePod(client: CriClient, user: SystemUser, image: string): Promise<void> {
  const status = await client.runtime.status({ verbose: true });
  for (const c of status.status?.conditions ?? []) assert.equal(c.status, true, `${c.type}: ${c.reason} ${c.message}`);
  assert.equal(JSON.parse(status.info["podman"] ?? "{}").graphDriver, "overlay", "a new storage gets native overlay");
  const { podSandboxId } = await runPod(client, user, image, "first-run");
  await client.runtime.stopPodSandbox({ podSandboxId });
  await client.runtime.removePodSandbox({ podSandboxId });
  assert.deepEqual((await client.runtime.listPodSandbox({})).items, []);
}

/** Pulls the image and runs a pod whose container writes a line; returns once the line is in its CRI log. */
async function runPod(
  client: CriClient,
  user: SystemUser,
  image: string,
  prefix: string,
): Promise<{ name: string; podSandboxId: string; containerId: string }> {
  const { imageRef } = await client.image.pullImage({ image: { image } });
  assert.match(imageRef, /^sha256:[0-9a-f]{64}$/);
  const name = `${prefix}-${Date.now().toString(36)}`;
  const sandboxConfig = {
    metadata: { name, namespace: "default", uid: crypto.randomUUID(), attempt: 0 },
    logDirectory: `${user.home}/pod-logs/${name}`,
  };
  const { podSandboxId } = await client.runtime.runPodSandbox({ config: sandboxConfig });
  try {
    const pod = await client.runtime.podSandboxStatus({ podSandboxId });
    assert.equal(pod.status?.state, PodSandboxState.SANDBOX_READY);
    assert.match(pod.status?.network?.ip ?? "", /^\d+\.\d+\.\d+\.\d+$/);
    const { containerId } = await client.runtime.createContainer({
      podSandboxId,
      config: {
        metadata: { name: "hello" },
        image: { image },
        command: ["sh", "-c", "echo first run ok; exec sleep 3600"],
        logPath: "hello.log",
      },
      sandboxConfig,
    });
    await client.runtime.startContainer({ containerId });
    const logFile = `${sandboxConfig.logDirectory}/hello.log`;
    await waitFor(async () => (await Deno.readTextFile(logFile).catch(() => "")).includes("first run ok"), {
      timeoutMs: 20_000,
      what: "the container's line in its CRI log",
    });
    const c = await client.runtime.containerStatus({ containerId });
    assert.equal(c.status?.state, ContainerState.CONTAINER_RUNNING);
    return { name, podSandboxId, containerId };
  } catch (err) {
    await client.runtime.stopPodSandbox({ podSandboxId }).catch(() => {});
    await client.runtime.removePodSandbox({ podSandboxId }).catch(() => {});
    throw err;
  }
}

/** Sends SIGTERM to the start command and waits for it; asserts a clean exit. */
async function stopServing(started: Started, client: CriClient): Promise<void> {
  client.close();
  started.child.kill("SIGTERM");
  const { code } = await started.child.status;
  assert.equal(code, 0, `exit status ${code}:\n${started.log()}`);
}

async function pushBusybox(registry: Registry): Promise<string> {
  await using tmp = await makeTempDir("first-run-image");
  await writeBusyboxRootfsTar(`${tmp.path}/rootfs.tar`);
  await pushLayerImage(registry, "first-run/busybox", "v1", await Deno.readFile(`${tmp.path}/rootfs.tar`), {
    Cmd: BUSYBOX_CONFIG.Cmd,
    Env: BUSYBOX_CONFIG.Env,
  });
  return `${registry.address}/first-run/busybox:v1`;
}

Deno.test({
  name: "the README's start commands serve a brand-new user, and a pod runs through them (root: scripts/test.sh)",
  ignore: !asRoot,
  sanitizeOps: false,
  sanitizeResources: false,
}, async (t) => {
  await using registry = await startRegistry();
  const image = await pushBusybox(registry);
  // The start commands' output, kept out of the checkout and out of the users' homes (removed with them).
  await using logs = await makeTempDir("first-run-logs");

  await t.step("scripts/start.sh as a new user: a missing runtime directory is one line naming the fix", async () => {
    await using user = await createSystemUser("crifr");
    const repo = `${user.home}/cri-podman`;
    await copyRepo(repo, user);
    const started = startCommand("setpriv", [...asUser(user), "bash", "scripts/start.sh"], {
      cwd: repo,
      env: {},
      logDir: logs.path,
    });
    const { code } = await started.child.status;
    const lines = started.log().split("\n").filter((l) => l.startsWith("cri-podman:"));
    assert.equal(code, 2, started.log());
    assert.equal(lines.length, 1, started.log());
    assert.match(lines[0]!, new RegExp(`install -d -m 0700 -o ${user.name} -g ${user.name} ${user.runtimeDir}`));
    assert.doesNotMatch(started.log(), /^\s+at /m, "no stack trace");
  });

  await t.step("scripts/start.sh as a new user with an empty runtime directory serves, and a pod runs", async () => {
    await using user = await createSystemUser("crifr");
    const repo = `${user.home}/cri-podman`;
    await copyRepo(repo, user);
    // What a login session gives a user: an empty, private runtime directory and XDG_RUNTIME_DIR naming it.
    await Deno.mkdir(user.runtimeDir, { mode: 0o700 });
    await Deno.chown(user.runtimeDir, user.uid, user.gid);
    const t0 = performance.now();
    const started = startCommand("setpriv", [
      ...asUser(user, { XDG_RUNTIME_DIR: user.runtimeDir }),
      "bash",
      "scripts/start.sh",
    ], { cwd: repo, env: {}, logDir: logs.path });
    const socket = `${user.runtimeDir}/cri-podman/cri-podman.sock`;
    const { ms, client } = await waitServing(started, socket, t0);
    console.log(`rootless start command → serving socket: ${ms} ms (including a first download of npm packages)`);
    const log = started.log();
    assert.match(log, /serving CRI/);
    assert.doesNotMatch(log, /DEP0005|deprecated/i, "no deprecation warning at start");
    await withLog(started, () => drivePod(client, user, image));
    await stopServing(started, client);
    assert.doesNotMatch(await Deno.readTextFile(started.logPath), /ERROR|restart failed/);

    // Every process of the user killed while a pod ran (the session ended; a CI machine was reused), the runtime
    // directory kept: Podman alone then refuses every command until `podman system migrate`.
    const again = () =>
      startCommand("setpriv", [
        ...asUser(user, { XDG_RUNTIME_DIR: user.runtimeDir }),
        "bash",
        "scripts/start.sh",
      ], { cwd: repo, env: {}, logDir: logs.path });
    const second = again();
    const serving = await waitServing(second, socket, performance.now());
    const left = await withLog(second, () => runPod(serving.client, user, image, "left"));
    serving.client.close();
    await user.killAll();
    const podman = await new Deno.Command("setpriv", {
      args: [...asUser(user, { XDG_RUNTIME_DIR: user.runtimeDir }), "podman", "info"],
      stdout: "null",
      stderr: "piped",
    }).output();
    assert.match(new TextDecoder().decode(podman.stderr), /system migrate/, "the state the start must recover from");

    const third = again();
    const recovered = await waitServing(third, socket, performance.now());
    await withLog(third, async () => {
      assert.match(third.log(), /running `podman system migrate`/);
      const pod = await recovered.client.runtime.podSandboxStatus({ podSandboxId: left.podSandboxId });
      assert.equal(pod.status?.state, PodSandboxState.SANDBOX_NOTREADY, "the killed pod is kept, not ready");
      assert.equal(pod.status?.metadata?.name, left.name, "with its CRI metadata");
      // Podman 4.3's migrate leaves a killed container "stopping" (reported running); kubelet stops it.
      const c = await recovered.client.runtime.containerStatus({ containerId: left.containerId });
      assert.equal(c.status?.metadata?.name, "hello");
      await recovered.client.runtime.stopContainer({ containerId: left.containerId, timeout: 0n });
      await recovered.client.runtime.stopPodSandbox({ podSandboxId: left.podSandboxId });
      await recovered.client.runtime.removePodSandbox({ podSandboxId: left.podSandboxId });
      await drivePod(recovered.client, user, image);
    });
    await stopServing(third, recovered.client);
  });

  await t.step("sudo scripts/start.sh for a new user serves, and a pod runs", async () => {
    const name = newUserName("crisu");
    let user: SystemUser | undefined;
    try {
      const t0 = performance.now();
      const started = startCommand("bash", ["scripts/start.sh"], {
        cwd: REPO,
        env: { ...Deno.env.toObject(), CRI_PODMAN_USER: name },
        logDir: logs.path,
      });
      await waitFor(
        async () => (await existingSystemUser(name).then((u) => (user = u), () => undefined)) !== undefined,
        {
          timeoutMs: 120_000,
          what: `setup_host.sh to create ${name}`,
        },
      );
      const socket = `${user!.runtimeDir}/cri-podman/cri-podman.sock`;
      const { ms, client } = await waitServing(started, socket, t0);
      console.log(`sudo start command → serving socket: ${ms} ms (including host setup and the bundle)`);
      await withLog(started, () => drivePod(client, user!, image));
      await stopServing(started, client);
    } finally {
      await user?.remove();
    }
  });
});

/** Runs `fn`; a failure carries the start command's output, which goes with the user when it is removed. */
async function withLog<T>(started: Started, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw new Error(`${(err as Error).message}\n--- start command output ---\n${started.log()}`, { cause: err });
  }
}

/** A copy of this checkout that `user` owns (a new user cannot read root's clone). */
async function copyRepo(dest: string, user: SystemUser): Promise<void> {
  const rsync = new Deno.Command("rsync", {
    args: [
      "-a",
      "--exclude=/node_modules",
      "--exclude=/.git",
      "--exclude=/dist",
      "--exclude=/.tmp",
      `--chown=${user.uid}:${user.gid}`,
      `${REPO}/`,
      `${dest}/`,
    ],
  });
  const { code, stderr } = await rsync.output();
  assert.equal(code, 0, new TextDecoder().decode(stderr));
}
