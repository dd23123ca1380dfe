import assert from "node:assert/strict";
import { status } from "@grpc/grpc-js";
import { NamespaceMode } from "../../gen/runtime/v1/api_pb.ts";
import { startInProcessCri } from "../../../tests/harness/in_process_cri.ts";
import {
  refusesUnknownAndEmptyContainerId,
  rejectsWith,
  runSandbox,
  startedContainer,
  storeBusybox,
} from "../../../tests/harness/handler_fixtures.ts";

/** The token at the end of a streaming URL. */
const tokenOf = (url: string) => url.split("/").pop()!;

Deno.test("exec() returns a URL whose single-use token names the command, for a running container", async () => {
  await using cri = await startInProcessCri();
  storeBusybox(cri);
  const containerId = await startedContainer(cri, await runSandbox(cri));
  const { url } = await cri.runtime.exec({
    containerId,
    cmd: ["sh", "-c", "exit 3"],
    tty: true,
    stdin: true,
    stdout: true,
  });
  assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/exec\/[A-Za-z0-9_-]{43}$/);
  assert.deepEqual(cri.tokens.take(tokenOf(url), "exec"), {
    kind: "exec",
    containerId,
    cmd: ["sh", "-c", "exit 3"],
    tty: true,
    stdin: true,
    stdout: true,
    stderr: false,
  });
  assert.equal(cri.tokens.take(tokenOf(url), "exec"), undefined, "a token is spent by its first use");
  assert.deepEqual(cri.fake.callsOf("exec.open"), [], "nothing runs before the client connects");
});

Deno.test("exec() refuses bad requests with INVALID_ARGUMENT naming what is wrong", async (t) => {
  await using cri = await startInProcessCri();
  storeBusybox(cri);
  const containerId = await startedContainer(cri, await runSandbox(cri));
  const cases: [string, Record<string, unknown>, RegExp][] = [
    ["an empty cmd", { cmd: [], stdout: true }, /^cmd must not be empty/],
    ["no stream at all", { cmd: ["true"] }, /one of stdin, stdout and stderr must be true/],
    ["tty with stderr", { cmd: ["true"], tty: true, stdout: true, stderr: true }, /tty and stderr cannot both be true/],
  ];
  for (const [what, req, pattern] of cases) {
    await t.step(what, async () => {
      await assert.rejects(cri.runtime.exec({ containerId, ...req }), rejectsWith(status.INVALID_ARGUMENT, pattern));
    });
  }
  await t.step(
    "an unknown or empty container_id",
    () => refusesUnknownAndEmptyContainerId((id) => cri.runtime.exec({ containerId: id, cmd: ["true"], stdout: true })),
  );
  assert.equal(cri.tokens.size, 0, "no token for a refused request");
});

Deno.test("exec() and attach() answer FAILED_PRECONDITION for a container that does not run", async () => {
  await using cri = await startInProcessCri();
  storeBusybox(cri);
  const containerId = await startedContainer(cri, await runSandbox(cri));
  await cri.runtime.stopContainer({ containerId, timeout: 0n });
  await assert.rejects(
    cri.runtime.exec({ containerId, cmd: ["true"], stdout: true }),
    rejectsWith(status.FAILED_PRECONDITION, /is not running/),
  );
  await assert.rejects(
    cri.runtime.attach({ containerId, stdout: true }),
    rejectsWith(status.FAILED_PRECONDITION, /is not running/),
  );
});

Deno.test("attach() returns a URL for a running container's streams", async () => {
  await using cri = await startInProcessCri();
  storeBusybox(cri);
  const containerId = await startedContainer(cri, await runSandbox(cri));
  const { url } = await cri.runtime.attach({ containerId, stdin: true, stdout: true, stderr: true });
  assert.match(url, /\/attach\/[A-Za-z0-9_-]{43}$/);
  assert.deepEqual(cri.tokens.take(tokenOf(url), "attach"), {
    kind: "attach",
    containerId,
    stdinOnce: false,
    tty: false,
    stdin: true,
    stdout: true,
    stderr: true,
  });
  await assert.rejects(cri.runtime.attach({ containerId }), rejectsWith(status.INVALID_ARGUMENT, /one of stdin/));
});

Deno.test("attach() passes the container's stdin_once on, which decides what the client's end of stdin does", async () => {
  await using cri = await startInProcessCri();
  storeBusybox(cri);
  const sandbox = await runSandbox(cri);
  for (const stdinOnce of [true, false]) {
    const containerId = await startedContainer(cri, sandbox, `once-${stdinOnce}`, { stdin: true, stdinOnce });
    const { url } = await cri.runtime.attach({ containerId, stdin: true, stdout: true });
    assert.equal((cri.tokens.take(tokenOf(url), "attach") as { stdinOnce: boolean }).stdinOnce, stdinOnce);
  }
});

Deno.test("portForward() returns a URL naming the sandbox's infra process and the ports", async () => {
  await using cri = await startInProcessCri();
  const podSandboxId = await runSandbox(cri);
  const { url } = await cri.runtime.portForward({ podSandboxId, port: [80, 8080] });
  assert.match(url, /\/portforward\/[A-Za-z0-9_-]{43}$/);
  const infra = cri.fake.containers_.get(cri.fake.pods_.get(podSandboxId)!.infraId)!;
  assert.deepEqual(cri.tokens.take(tokenOf(url), "portforward"), {
    kind: "portforward",
    sandboxId: podSandboxId,
    infraPid: infra.pid,
    ports: [80, 8080],
  });
});

Deno.test("portForward() into a node's host-network pod names a process in the node, not the infra", async () => {
  await using cri = await startInProcessCri();
  cri.state.nodeNetns = "/run/user/1000/netns/rootless-netns-0";
  cri.state.nodeNetnsPid = 4242;
  const hostNet = await runSandbox(cri, "hostnet", {
    linux: { securityContext: { namespaceOptions: { network: NamespaceMode.NODE } } },
  });
  const { url } = await cri.runtime.portForward({ podSandboxId: hostNet, port: [8080] });
  assert.equal((cri.tokens.take(tokenOf(url), "portforward") as { infraPid: number }).infraPid, 4242);
  const bridged = await runSandbox(cri, "bridged");
  const infra = cri.fake.containers_.get(cri.fake.pods_.get(bridged)!.infraId)!;
  const other = await cri.runtime.portForward({ podSandboxId: bridged, port: [8080] });
  assert.equal((cri.tokens.take(tokenOf(other.url), "portforward") as { infraPid: number }).infraPid, infra.pid);
});

Deno.test("portForward() refuses a port out of range, an unknown sandbox and a stopped one", async () => {
  await using cri = await startInProcessCri();
  const podSandboxId = await runSandbox(cri);
  for (const port of [0, 65536, -1]) {
    await assert.rejects(
      cri.runtime.portForward({ podSandboxId, port: [80, port] }),
      rejectsWith(status.INVALID_ARGUMENT, new RegExp(`^port\\[1\\] ${port} is not a port number`)),
    );
  }
  await assert.rejects(
    cri.runtime.portForward({ podSandboxId: "f".repeat(64), port: [80] }),
    rejectsWith(status.NOT_FOUND),
  );
  await cri.runtime.stopPodSandbox({ podSandboxId });
  await assert.rejects(
    cri.runtime.portForward({ podSandboxId, port: [80] }),
    rejectsWith(status.FAILED_PRECONDITION, /is not ready/),
  );
});
