/**
 * Streaming benchmark (issue 9), each figure next to the same work done without cri-podman, in one run:
 * - exec round trip (`true`): CRI Exec + SPDY session + exit status, against a libpod exec (create, hijacked start,
 *   exit code) and against the `podman exec` CLI, interleaved;
 * - 256 MiB through exec stdout: SPDY from cri-podman against libpod's hijacked exec stream, read alike;
 * - 256 MiB through port-forward (SPDY, the in-namespace helper) against a client started inside the pod's network
 *   namespace (`nsenter` + busybox `wget`), which is what the data would cost with no forwarding at all;
 * - the server's RSS idle, with 20 exec sessions open at once, and after they closed (measured first).
 * Run as the unprivileged user: `deno run -A bench/streaming.ts [rounds]`.
 */
import { spawn } from "node:child_process";
import { NamespaceMode } from "../src/gen/runtime/v1/api_pb.ts";
import { PodmanExec } from "../src/podman/exec.ts";
import { PORT_FORWARD_PROTOCOLS, REMOTE_COMMAND_PROTOCOLS } from "../src/streaming/spdy/mod.ts";
import { ensureBusyboxImage } from "../tests/harness/busybox_image.ts";
import { startCriServer } from "../tests/harness/cri_server.ts";
import { startPodmanService } from "../tests/harness/podman_service.ts";
import { dialSpdy, openForward, RemoteCommandClient } from "../tests/harness/spdy_client.ts";
import { makeTempDir, uniqueName, waitFor } from "../tests/harness/temp.ts";
import { libpodCaller } from "./_libpod.ts";
import { interleaved, rssMiB, table } from "./_stats.ts";

const rounds = Number(Deno.args[0] ?? 10);
const BIG = 256 * 1024 * 1024;
const image = await ensureBusyboxImage();
await using podman = await startPodmanService();
await using cri = await startCriServer({ podmanSocket: podman.socketPath, args: ["--log-level", "warn"] });
await using logs = await makeTempDir("bench-stream-logs");
const rt = cri.client.runtime;
const libpodExec = new PodmanExec(podman.socketPath);
const libpod = libpodCaller(podman.socketPath);
const name = uniqueName("bstream");
const sandboxConfig = {
  metadata: { name, namespace: "bench", uid: `${name}-uid`, attempt: 0 },
  hostname: "bstream",
  logDirectory: `${logs.path}/${name}`,
  linux: { securityContext: { namespaceOptions: { network: NamespaceMode.POD, pid: NamespaceMode.CONTAINER } } },
};
const { podSandboxId } = await rt.runPodSandbox({ config: sandboxConfig });
const start = async (container: string, command: string[]) => {
  const { containerId } = await rt.createContainer({
    podSandboxId,
    config: { metadata: { name: container }, image: { image }, command, logPath: `${container}.log` },
    sandboxConfig,
  });
  await rt.startContainer({ containerId });
  return containerId;
};

/** Exec through cri-podman as kubectl does: the RPC, the SPDY session, stdout drained, the exit status. */
async function criExec(containerId: string, cmd: string[], onChunk?: (n: number) => void): Promise<number> {
  const { url } = await rt.exec({ containerId, cmd, stdout: true });
  const u = new URL(url);
  const dialed = await dialSpdy(Number(u.port), u.pathname, REMOTE_COMMAND_PROTOCOLS);
  if (dialed.status !== 101) throw new Error(`exec upgrade: ${dialed.status} ${dialed.body}`);
  const client = await RemoteCommandClient.open(dialed.session!, dialed.protocol!, {
    stdin: false,
    stdout: true,
    stderr: false,
    tty: false,
  });
  let bytes = 0;
  for await (const chunk of client.streams.get("stdout")!) {
    bytes += chunk.length;
    onChunk?.(chunk.length);
  }
  const result = await client.result();
  if (result.exitCode !== 0) throw new Error(`exec failed: ${result.error}`);
  dialed.session!.destroy();
  return bytes;
}

/** The same through libpod directly: create, hijacked start, output drained, exit code. */
async function libpodExecRun(containerId: string, cmd: string[]): Promise<number> {
  const stream = await libpodExec.open(containerId, cmd, { tty: false, stdin: false, stdout: true, stderr: false });
  let bytes = 0;
  for await (const chunk of stream.output()) bytes += chunk.length;
  const code = await stream.exitCode();
  await stream.close();
  if (code !== 0) throw new Error(`libpod exec exited ${code}`);
  return bytes;
}

/** Runs `fn` `n` times alternating with `other`, returning MiB/s of each (bytes / seconds). */
async function throughput(n: number, ops: Record<string, () => Promise<number>>): Promise<Record<string, number[]>> {
  const out: Record<string, number[]> = Object.fromEntries(Object.keys(ops).map((k) => [k, []]));
  for (let i = 0; i < n; i++) {
    for (const [key, op] of Object.entries(ops)) {
      const t0 = performance.now();
      const bytes = await op();
      const seconds = (performance.now() - t0) / 1000;
      if (bytes < BIG) throw new Error(`${key}: only ${bytes} bytes`);
      out[key]!.push(BIG / 1024 / 1024 / seconds);
    }
  }
  return out;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

try {
  const worker = await start("worker", ["sleep", "36000"]);
  await start("web", [
    "sh",
    "-c",
    `mkdir -p /srv && head -c ${BIG} /dev/zero > /srv/big && exec httpd -f -p 8080 -h /srv`,
  ]);

  // Memory first, before the throughput runs grow the heap: idle, 20 concurrent exec sessions, after.
  const idle = rssMiB(cri.pid);
  const sessions = await Promise.all(Array.from({ length: 20 }, async () => {
    const { url } = await rt.exec({ containerId: worker, cmd: ["cat"], stdin: true, stdout: true });
    const u = new URL(url);
    const dialed = await dialSpdy(Number(u.port), u.pathname, REMOTE_COMMAND_PROTOCOLS);
    const client = await RemoteCommandClient.open(dialed.session!, dialed.protocol!, {
      stdin: true,
      stdout: true,
      stderr: false,
      tty: false,
    });
    await client.writeStdin("ping\n");
    const out = client.streams.get("stdout")![Symbol.asyncIterator]();
    await out.next();
    return { client, session: dialed.session! };
  }));
  const busy = rssMiB(cri.pid);
  for (const { client } of sessions) await client.closeStdin();
  await Promise.all(sessions.map(({ client }) => client.result()));
  for (const { session } of sessions) session.destroy();
  const after = rssMiB(cri.pid);

  // 1. Round trip of a trivial exec.
  const latency = await interleaved({
    "exec `true`: CRI Exec + SPDY session (cri-podman)": () => criExec(worker, ["true"]),
    "exec `true`: libpod create + hijacked start + exit code (direct)": () => libpodExecRun(worker, ["true"]),
    "exec `true`: `podman exec` (the CLI, against the same storage)": () => podmanExecCli(worker),
  }, { rounds, batch: 10, warmup: 5 });

  // 2. 256 MiB through exec stdout.
  const dd = ["head", "-c", String(BIG), "/dev/zero"];
  const execRates = await throughput(Math.max(3, Math.floor(rounds / 2)), {
    "256 MiB exec stdout over SPDY (cri-podman)": () => criExec(worker, dd),
    "256 MiB exec stdout from libpod's hijacked stream (direct)": () => libpodExecRun(worker, dd),
  });

  // 3. 256 MiB through port-forward against a client inside the pod's network namespace.
  const infraPid = await infraPidOf(podSandboxId);
  await waitFor(async () => (await inNetns(infraPid, ["wget", "-q", "-O", "-", "http://127.0.0.1:8080/none"])) >= 0, {
    timeoutMs: 30_000,
    what: "httpd to listen",
  });
  const forwardRates = await throughput(Math.max(3, Math.floor(rounds / 2)), {
    "256 MiB port-forward over SPDY (cri-podman)": () => forwardGet(podSandboxId, 8080, "/big"),
    "256 MiB wget inside the pod's netns (direct, no forwarding)": () => inNetnsBytes(infraPid, "/big"),
  });

  console.log(`\nexec round trip: ${rounds} interleaved rounds of 10 each way\n`);
  console.log(table(latency));
  console.log(`\nthroughput, MiB/s (median of each; runs alternate)\n`);
  console.log("| path | runs | median MiB/s | all |");
  console.log("|---|---:|---:|---|");
  for (const [k, v] of Object.entries({ ...execRates, ...forwardRates })) {
    console.log(`| ${k} | ${v.length} | ${median(v).toFixed(0)} | ${v.map((x) => x.toFixed(0)).join(", ")} |`);
  }
  console.log(
    `\nserver RSS: ${idle.toFixed(0)} MiB before, ${busy.toFixed(0)} MiB with 20 exec sessions open, ` +
      `${after.toFixed(0)} MiB after they closed`,
  );
} finally {
  await rt.stopPodSandbox({ podSandboxId });
  await rt.removePodSandbox({ podSandboxId });
  await libpodExec.close();
  await libpod.close();
}

/** GETs `path` through a port-forward session and counts the body's bytes. */
async function forwardGet(sandbox: string, port: number, path: string): Promise<number> {
  const { url } = await rt.portForward({ podSandboxId: sandbox, port: [port] });
  const u = new URL(url);
  const dialed = await dialSpdy(Number(u.port), u.pathname, PORT_FORWARD_PROTOCOLS);
  if (dialed.status !== 101) throw new Error(`port-forward upgrade: ${dialed.status} ${dialed.body}`);
  try {
    const conn = await openForward(dialed.session!, port, 1);
    await conn.data.write(new TextEncoder().encode(`GET ${path} HTTP/1.0\r\n\r\n`));
    let bytes = 0;
    for await (const chunk of conn.data) bytes += chunk.length;
    return bytes;
  } finally {
    dialed.session!.destroy();
  }
}

/** The pid of the sandbox's infra process, from Podman. */
async function infraPidOf(sandbox: string): Promise<number> {
  const pod = await libpod.call("GET", `/pods/${sandbox}/json`);
  const infra = await libpod.call("GET", `/containers/${pod.InfraContainerID}/json`);
  return infra.State.Pid;
}

/** `podman exec CONTAINER true`, as a user would type it; rejects unless it exits 0. */
function podmanExecCli(containerId: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn("podman", ["exec", containerId, "true"], { stdio: ["ignore", "ignore", "ignore"] });
    child.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`podman exec exited ${code}`))));
  });
}

/** Runs busybox `args` inside the pod's user and network namespace; resolves to the exit code. */
function inNetns(pid: number, args: string[]): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(
      "nsenter",
      ["-t", String(pid), "-U", "--preserve-credentials", "-n", "--", "busybox", ...args],
      {
        stdio: ["ignore", "ignore", "ignore"],
      },
    );
    child.on("exit", (code) => resolve(code ?? -1));
  });
}

/** GETs `path` from inside the pod's network namespace, counting the bytes that reach us. */
function inNetnsBytes(pid: number, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn("nsenter", [
      "-t",
      String(pid),
      "-U",
      "--preserve-credentials",
      "-n",
      "--",
      "busybox",
      "wget",
      "-q",
      "-O",
      "-",
      `http://127.0.0.1:8080${path}`,
    ], { stdio: ["ignore", "pipe", "ignore"] });
    let bytes = 0;
    child.stdout.on("data", (chunk: Buffer) => bytes += chunk.length);
    child.on("exit", (code) => (code === 0 ? resolve(bytes) : reject(new Error(`wget exited ${code}`))));
  });
}
