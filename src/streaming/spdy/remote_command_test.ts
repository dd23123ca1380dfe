import assert from "node:assert/strict";
import { readAll, RemoteCommandClient, withSpdyPair } from "../../../tests/harness/spdy_client.ts";
import { SpdyClosedError } from "./errors.ts";
import { REMOTE_COMMAND_PROTOCOLS, type RemoteCommandProtocol } from "./exit_status.ts";
import { spdyHeaders } from "./header_block.ts";
import { remoteCommandOverSpdy } from "./remote_command.ts";

// Over an in-memory duplex pair (no socket); tests/streaming_spdy_test.ts covers the same over TCP.

const all = { stdin: true, stdout: true, stderr: true };

Deno.test("remoteCommandOverSpdy() waits for exactly the streams client-go opens, per protocol and TTY", async () => {
  for (const protocol of REMOTE_COMMAND_PROTOCOLS) {
    for (const tty of [false, true]) {
      await withSpdyPair(async (server, client) => {
        const building = remoteCommandOverSpdy(server, protocol, { ...all, tty });
        const remote = await RemoteCommandClient.open(client, protocol, { ...all, tty });
        const cmd = await building;
        const what = `${protocol} tty=${tty}`;
        const withResize = tty && (protocol === "v4.channel.k8s.io" || protocol === "v3.channel.k8s.io");
        assert.deepEqual(cmd.options, { ...all, stderr: !tty, tty }, what);
        assert.ok(cmd.stdin && cmd.stdout, what);
        assert.equal(cmd.stderr === undefined, tty, what);
        assert.equal(cmd.resize !== undefined, withResize, what);
        await cmd.finish({ kind: "exit", exitCode: 0 });
        assert.deepEqual(await remote.result(), { exitCode: 0, error: undefined }, what);
      });
    }
  }
});

Deno.test("remoteCommandOverSpdy() refuses streams the request did not ask for, and any opened later", async () => {
  await withSpdyPair(async (server, client) => {
    const building = remoteCommandOverSpdy(server, "v4.channel.k8s.io", {
      stdin: false,
      stdout: true,
      stderr: false,
      tty: false,
    });
    await client.openStream(spdyHeaders([["streamtype", "error"]]));
    await assert.rejects(client.openStream(spdyHeaders([["streamtype", "stdin"]])), /reset by the peer \(status 3\)/);
    await assert.rejects(client.openStream(spdyHeaders([["streamtype", "error"]])), /status 3/);
    await assert.rejects(client.openStream(spdyHeaders([["other", "x"]])), /status 3/);
    const stdout = await client.openStream(spdyHeaders([["streamtype", "stdout"]]));
    const cmd = await building;
    await assert.rejects(client.openStream(spdyHeaders([["streamtype", "stdout"]])), /status 3/);
    await cmd.stdout!.write(new TextEncoder().encode("ok"));
    await cmd.finish({ kind: "exit", exitCode: 0 });
    assert.equal(new TextDecoder().decode(await readAll(stdout)), "ok");
  });
});

Deno.test("remoteCommandOverSpdy() gives up after the stream timeout with kubelet's message, closing the session", async () => {
  await withSpdyPair(async (server, client) => {
    const building = remoteCommandOverSpdy(
      server,
      "v4.channel.k8s.io",
      { stdin: true, stdout: true, stderr: false, tty: false },
      { streamTimeoutMs: 50 },
    );
    await client.openStream(spdyHeaders([["streamtype", "error"]]));
    await assert.rejects(
      building,
      (err: unknown) =>
        err instanceof SpdyClosedError && err.message === "timed out waiting for client to create streams",
    );
    assert.ok(server.closed.aborted);
  });
});

Deno.test("remoteCommandOverSpdy() rejects when the client goes away before opening its streams", async () => {
  await withSpdyPair(async (server, client) => {
    const building = remoteCommandOverSpdy(server, "v4.channel.k8s.io", {
      stdin: false,
      stdout: true,
      stderr: false,
      tty: false,
    });
    client.destroy();
    await assert.rejects(building, SpdyClosedError);
  });
});

Deno.test("a remote command's closed signal aborts and its stdin ends when the client goes away", async () => {
  await withSpdyPair(async (server, client) => {
    const protocol: RemoteCommandProtocol = "v4.channel.k8s.io";
    const building = remoteCommandOverSpdy(server, protocol, { stdin: true, stdout: true, stderr: false, tty: false });
    const remote = await RemoteCommandClient.open(client, protocol, {
      stdin: true,
      stdout: true,
      stderr: false,
      tty: false,
    });
    const cmd = await building;
    await remote.writeStdin("partial");
    const stdin = readAll(cmd.stdin!);
    assert.equal(cmd.closed.aborted, false);
    client.destroy();
    assert.equal(new TextDecoder().decode(await stdin), "partial");
    assert.ok(cmd.closed.aborted);
    // Writing to a client that is gone does not throw; finish() still settles.
    await cmd.stdout!.write(new Uint8Array(10));
    await cmd.finish({ kind: "exit", exitCode: 1 });
  });
});

Deno.test("finish() runs once: a second call changes nothing", async () => {
  await withSpdyPair(async (server, client) => {
    const protocol: RemoteCommandProtocol = "v2.channel.k8s.io";
    const building = remoteCommandOverSpdy(server, protocol, { stdin: false, stdout: true, stderr: false, tty: false });
    const remote = await RemoteCommandClient.open(client, protocol, {
      stdin: false,
      stdout: true,
      stderr: false,
      tty: false,
    });
    const cmd = await building;
    const first = cmd.finish({ kind: "error", message: "first" });
    const second = cmd.finish({ kind: "error", message: "second" });
    assert.equal(first, second);
    await first;
    assert.deepEqual(await remote.result(), {
      exitCode: undefined,
      error: "error executing remote command: Internal error occurred: first",
    });
  });
});
