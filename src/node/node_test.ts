import assert from "node:assert/strict";
import { defaultNodeCommand, nodeEnterArgv } from "./enter.ts";
import { inNodeProblem } from "./in_node.ts";
import { NODE_KEEPER_NAME, nodeKeeperCreateArgs } from "./keeper.ts";
import { runStreamRelay, startStreamRelay, streamRelayProgram } from "./stream_relay.ts";
import { dataModuleUrl, mainModuleSource } from "../host/self_program.ts";

Deno.test("nodeEnterArgv() enters the holder's user and network namespaces and Podman's mount namespace", () => {
  assert.deepEqual(nodeEnterArgv({ pid: 123, mountPid: 45 }, "/home/u/w", ["critest", "--ginkgo.focus", "x"]), [
    "nsenter",
    "-t",
    "123",
    "-U",
    "-n",
    "--mount=/proc/45/ns/mnt",
    "--preserve-credentials",
    "--wd=/home/u/w",
    "--",
    "critest",
    "--ginkgo.focus",
    "x",
  ]);
  assert.deepEqual(defaultNodeCommand({ SHELL: "/bin/zsh" }), ["/bin/zsh"]);
  assert.deepEqual(defaultNodeCommand({}), ["/bin/sh"]);
});

Deno.test("nodeKeeperCreateArgs() makes a labelled pod on Podman's default bridge network", () => {
  const args = nodeKeeperCreateArgs("");
  assert.deepEqual(args.slice(0, 4), ["pod", "create", "--name", NODE_KEEPER_NAME]);
  assert.ok(args.includes("io.cri-podman.kind=node-keeper"));
  assert.deepEqual(args.slice(args.indexOf("--network"), args.indexOf("--network") + 2), ["--network", "podman"]);
  assert.equal(args.includes("--infra-image"), false);
  assert.deepEqual(nodeKeeperCreateArgs("localhost/pause:1").slice(-2), ["--infra-image", "localhost/pause:1"]);
});

Deno.test("inNodeProblem() refuses serve started by `cri-podman node`, naming serve --node", () => {
  assert.equal(inNodeProblem({}), undefined);
  assert.equal(inNodeProblem({ CRI_PODMAN_IN_NODE: "0" }), undefined);
  assert.match(inNodeProblem({ CRI_PODMAN_IN_NODE: "1" }) ?? "", /does not run inside the node.*serve --node/);
});

Deno.test("the stream relay carries bytes both ways to the unix socket, and ends with its parent", async (t) => {
  const dir = await Deno.makeTempDir();
  const socketPath = `${dir}/streaming.sock`;
  const upstream = Deno.listen({ transport: "unix", path: socketPath });
  // The streaming server's stand-in: echoes what it reads, upper-cased, until the client half-closes.
  const serving = (async () => {
    for await (const conn of upstream) {
      (async () => {
        const buffer = new Uint8Array(1024);
        for (let n; (n = await conn.read(buffer)) !== null;) {
          await conn.write(new TextEncoder().encode(new TextDecoder().decode(buffer.subarray(0, n)).toUpperCase()));
        }
        conn.close();
      })();
    }
  })();
  const messages: string[] = [];
  let exitDetail: string | undefined;
  const relay = await startStreamRelay({
    holder: { pid: 0, mountPid: 0 },
    address: "127.0.0.1",
    port: 0,
    socketPath,
    onExit: (detail) => exitDetail = detail,
    onMessage: (line) => messages.push(line),
    enter: (argv) => argv, // here, not in a node
  });
  try {
    await t.step(
      "a connection to its port reaches the socket, and the answer comes back; EOF is passed on",
      async () => {
        const conn = await Deno.connect({ hostname: "127.0.0.1", port: relay.port });
        await conn.write(new TextEncoder().encode("hello relay"));
        await conn.closeWrite();
        let text = "";
        const buffer = new Uint8Array(1024);
        for (let n; (n = await conn.read(buffer)) !== null;) text += new TextDecoder().decode(buffer.subarray(0, n));
        conn.close();
        assert.equal(text, "HELLO RELAY");
      },
    );
    await t.step("with the socket gone, a connection is closed and the relay says why", async () => {
      upstream.close();
      await serving;
      const conn = await Deno.connect({ hostname: "127.0.0.1", port: relay.port });
      assert.equal(await conn.read(new Uint8Array(16)), null);
      conn.close();
      for (let i = 0; i < 100 && messages.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
      assert.match(messages.join("\n"), /cannot reach the streaming server/);
    });
  } finally {
    await relay.stop();
    await Deno.remove(dir, { recursive: true });
  }
  assert.equal(exitDetail, undefined, "a stop is not reported as an unexpected end");
});

Deno.test("a relay that cannot listen fails the start with its own words", async () => {
  const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    await assert.rejects(
      startStreamRelay({
        holder: { pid: 0, mountPid: 0 },
        address: "127.0.0.1",
        port: (taken.addr as Deno.NetAddr).port,
        socketPath: "/nonexistent/streaming.sock",
        onExit: () => {},
        onMessage: () => {},
        enter: (argv) => argv,
      }),
      /stream relay ended before it listened on 127\.0\.0\.1:\d+ \(1\): .*(AddrInUse|in use)/is,
    );
  } finally {
    taken.close();
  }
});

Deno.test("runStreamRelay() is self-contained: its source alone runs and refuses bad arguments", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-config", "--no-lock", "--quiet", dataModuleUrl(mainModuleSource(runStreamRelay))],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 2);
  assert.match(new TextDecoder().decode(out.stderr), /usage: stream relay ADDRESS PORT SOCKET/);
});

Deno.test("streamRelayProgram() allows only its address (IPv6 bracketed) and its socket", () => {
  assert.deepEqual(streamRelayProgram("127.0.0.1", "/run/s.sock").permissions, [
    "--allow-net=127.0.0.1,unix:/run/s.sock",
    "--allow-read=/run/s.sock",
    "--allow-write=/run/s.sock",
  ]);
  assert.equal(streamRelayProgram("::1", "/run/s.sock").permissions?.[0], "--allow-net=[::1],unix:/run/s.sock");
});
