/**
 * Integration: starting, stopping and surviving — the CLI, the socket file, graceful shutdown, Go-client transport
 * quirks, Podman going away and coming back, and the embedded Podman service — on the real cri-podman process.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import net from "node:net";
import { status as grpcStatus } from "@grpc/grpc-js";
import { toBinary } from "@bufbuild/protobuf";
import { create } from "@bufbuild/protobuf";
import {
  ImageFsInfoRequestSchema,
  ImageFsInfoResponseSchema,
  VersionRequestSchema,
  VersionResponseSchema,
} from "../src/gen/runtime/v1/api_pb.ts";
import { fromBinary } from "@bufbuild/protobuf";
import { firstGrpcMessage, grpcStatus as rawGrpcStatus, RawH2Client } from "./harness/h2.ts";
import { connectCri } from "./harness/cri_client.ts";
import type { CallError } from "./harness/cri_client.ts";
import { startCriServer } from "./harness/cri_server.ts";
import { startPodmanService } from "./harness/podman_service.ts";
import { makeTempDir, processExists, waitFor } from "./harness/temp.ts";

const MOD_TS = new URL("../mod.ts", import.meta.url).pathname;
const DENO_JSON = new URL("../deno.json", import.meta.url).pathname;

/** Runs `cri-podman ARGS` to completion. */
async function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number; out: string }> {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", "--config", DENO_JSON, MOD_TS, ...args],
    env: { NO_COLOR: "1", ...env },
    stdin: "null",
  }).output();
  const d = new TextDecoder();
  return { code, out: d.decode(stdout) + d.decode(stderr) };
}

Deno.test(
  "the CLI prints help, version and the effective configuration, and rejects bad configuration",
  async (t) => {
    await using dir = await makeTempDir("cli");
    await t.step("--help lists the commands and every configuration key", async () => {
      const { code, out } = await cli(["--help"]);
      assert.equal(code, 0);
      for (const word of ["serve", "version", "config", "podman.socket", "CRI_PODMAN_LISTEN", "--podman-socket"]) {
        assert.ok(out.includes(word), word);
      }
    });
    await t.step("version names the runtime and the CRI API", async () => {
      const { code, out } = await cli(["version"]);
      assert.equal(code, 0);
      assert.match(out, /^cri-podman \d+\.\d+\.\d+ \(CRI v1/);
    });
    await t.step("config prints file < environment < flag values as TOML", async () => {
      await Deno.writeTextFile(`${dir.path}/c.toml`, 'listen = "/tmp/from-file.sock"\n[log]\nlevel = "warn"\n');
      const { code, out } = await cli(
        ["config", "--config", `${dir.path}/c.toml`, "--podman-socket", "/tmp/flag.sock"],
        { CRI_PODMAN_LOG_LEVEL: "debug", CRI_PODMAN_PODMAN_SOCKET: "/tmp/env.sock" },
      );
      assert.equal(code, 0, out);
      assert.match(out, /listen = "\/tmp\/from-file.sock"/);
      assert.match(out, /level = "debug"/);
      assert.match(out, /socket = "\/tmp\/flag.sock"/);
    });
    await t.step("an unknown key stops the start with the key named", async () => {
      await Deno.writeTextFile(`${dir.path}/bad.toml`, '[podman]\nsockett = "/x"\n');
      const { code, out } = await cli(["serve", "--config", `${dir.path}/bad.toml`]);
      assert.equal(code, 2);
      assert.match(out, /podman\.sockett.*unknown key/);
    });
    await t.step("a bad value stops the start with the key named", async () => {
      const { code, out } = await cli(["serve", "--listen", "relative.sock"]);
      assert.equal(code, 2);
      assert.match(out, /"listen": must be an absolute path/);
    });
    await t.step("an unknown flag is refused", async () => {
      const { code, out } = await cli(["serve", "--frobnicate"]);
      assert.equal(code, 2);
      assert.match(out, /frobnicate/);
    });
  },
);

Deno.test("serve exits non-zero with install advice when podman is not installed", async () => {
  await using dir = await makeTempDir("nopodman");
  const { code, out } = await cli(
    ["serve", "--listen", `${dir.path}/cri.sock`, "--podman-socket", `${dir.path}/podman.sock`],
    { CRI_PODMAN_PODMAN_BINARY: `${dir.path}/no-such-podman` },
  );
  assert.equal(code, 2, out);
  assert.match(out, /not installed/);
  assert.match(out, /apt-get install podman/);
  await assert.rejects(Deno.stat(`${dir.path}/cri.sock`), Deno.errors.NotFound);
});

Deno.test(
  "serve refuses to start when Podman does not answer and the embedded service is off",
  async () => {
    await using dir = await makeTempDir("nopodman");
    const { code, out } = await cli([
      "serve",
      "--listen",
      `${dir.path}/cri.sock`,
      "--podman-socket",
      `${dir.path}/podman.sock`,
      "--no-embedded-podman",
    ]);
    assert.equal(code, 2, out);
    assert.match(out, /Podman does not answer on/);
  },
);

Deno.test(
  "the CRI socket: 0660, a stale one is replaced, a live one is never stolen, gone after SIGTERM",
  async (t) => {
    await using podman = await startPodmanService();
    await using dir = await makeTempDir("sock");
    const path = `${dir.path}/cri.sock`;
    // A stale socket: its owner exited without removing it, as a crashed server would.
    const owner = await new Deno.Command(Deno.execPath(), {
      args: ["eval", `Deno.listen({ transport: "unix", path: ${JSON.stringify(path)} }); Deno.exit(0);`],
      stdin: "null",
    }).output();
    assert.equal(owner.code, 0);
    assert.ok((await Deno.stat(path)).isSocket);

    await using cri = await startCriServer({ podmanSocket: podman.socketPath, listen: path });
    await t.step("a stale socket file is replaced and the new one is 0660", async () => {
      const c = connectCri(path);
      try {
        assert.equal((await c.runtime.version({})).runtimeName, "cri-podman");
      } finally {
        c.close();
      }
      assert.equal((await Deno.stat(path)).mode! & 0o777, 0o660);
    });
    await t.step("a second server refuses a socket with a live server behind it", async () => {
      const { code, out } = await cli(["serve", "--listen", path, "--podman-socket", podman.socketPath]);
      assert.equal(code, 2);
      assert.match(out, /Another server is listening on/);
      const c = connectCri(path);
      try {
        assert.equal((await c.runtime.version({})).runtimeName, "cri-podman", "first server still serves");
      } finally {
        c.close();
      }
    });
    await t.step("SIGTERM: exit 0, a call in flight answered, socket removed", async () => {
      // ImageFsInfo's first call walks Podman's whole store (hundreds of ms): in flight while the signal arrives.
      const other = await RawH2Client.connect(path);
      const req = toBinary(ImageFsInfoRequestSchema, create(ImageFsInfoRequestSchema, {}));
      let answered = false;
      const slow = other.unary("/runtime.v1.ImageService/ImageFsInfo", "localhost", req).finally(() => {
        answered = true;
      });
      await other.ping(); // the server has read the call
      assert.equal(answered, false, "ImageFsInfo was answered before SIGTERM: no call was in flight");
      const code = await cri.stop();
      const res = await slow; // the call in flight finished successfully
      other.destroy();
      await other.closed;
      assert.equal(rawGrpcStatus(res), "0");
      const fs = fromBinary(ImageFsInfoResponseSchema, firstGrpcMessage(res.data)!);
      assert.ok((fs.imageFilesystems[0]?.inodesUsed?.value ?? 0n) > 0n);
      assert.equal(code, 0, cri.log());
      await assert.rejects(Deno.stat(path), Deno.errors.NotFound);
      assert.match(cri.log(), /stopped/);
    });
  },
);

Deno.test(
  "Go-client transport: :authority set to the socket path, and 1,000 calls then GOAWAY",
  async (t) => {
    await using podman = await startPodmanService();
    await using cri = await startCriServer({ podmanSocket: podman.socketPath });
    const versionCall = async (client: RawH2Client) => {
      const req = toBinary(VersionRequestSchema, create(VersionRequestSchema, { version: "v1" }));
      const result = await client.unary("/runtime.v1.RuntimeService/Version", cri.socketPath, req);
      assert.equal(rawGrpcStatus(result), "0");
      return fromBinary(VersionResponseSchema, firstGrpcMessage(result.data)!);
    };

    await t.step("a request whose :authority is the socket path is answered", async () => {
      const client = await RawH2Client.connect(cri.socketPath);
      try {
        assert.equal((await versionCall(client)).runtimeName, "cri-podman");
      } finally {
        await client.end();
      }
    });

    await t.step("1,000 calls on one connection, GOAWAY, and the server still answers", async () => {
      const client = await RawH2Client.connect(cri.socketPath);
      for (let i = 0; i < 1000; i++) await versionCall(client);
      client.sendGoaway(0); // what Go clients send on close: the frame that aborted Deno 2.9.6's node:http2
      await client.ping(); // acknowledged: the server has read the GOAWAY, and lives
      client.destroy();
      await client.closed;
      const next = await RawH2Client.connect(cri.socketPath);
      try {
        assert.equal((await versionCall(next)).runtimeName, "cri-podman");
      } finally {
        await next.end();
      }
      assert.ok(processExists(cri.pid), "server alive");
      // And the grpc-js client path (authority "localhost") still works too.
      assert.equal((await cri.client.runtime.version({})).runtimeName, "cri-podman");
    });

    await t.step(
      "a message that is not protobuf is INVALID_ARGUMENT, an unknown method UNIMPLEMENTED; the server lives on",
      async () => {
        const client = await RawH2Client.connect(cri.socketPath);
        try {
          const garbage = new Uint8Array([0xff, 0xff, 0xff, 0xff, 0x0f, 0x12, 0x99, 0x01]);
          const bad = await client.unary("/runtime.v1.ImageService/PullImage", cri.socketPath, garbage);
          // The client's mistake: INVALID_ARGUMENT, as clients expect (grpc-js alone would say INTERNAL).
          assert.equal(rawGrpcStatus(bad), String(grpcStatus.INVALID_ARGUMENT));
          const unknown = await client.unary("/runtime.v1.RuntimeService/NoSuchCall", cri.socketPath, new Uint8Array());
          assert.equal(rawGrpcStatus(unknown), String(grpcStatus.UNIMPLEMENTED));
          assert.equal((await versionCall(client)).runtimeName, "cri-podman");
        } finally {
          await client.end();
        }
      },
    );

    await t.step("garbage on the socket does not hurt the server", async () => {
      const sock = net.connect(cri.socketPath);
      sock.on("error", () => {});
      await new Promise((resolve) => sock.once("connect", resolve));
      sock.write(Buffer.from("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
      await new Promise((resolve) => sock.once("close", resolve));
      assert.equal((await cri.client.runtime.version({})).runtimeName, "cri-podman");
    });
  },
);

Deno.test(
  "Podman killed mid-run: calls answer UNAVAILABLE, then recover without restarting cri-podman",
  async (t) => {
    await using podman = await startPodmanService();
    await using cri = await startCriServer({ podmanSocket: podman.socketPath });
    const { runtime, image } = cri.client;
    await image.listImages({});

    await t.step("with Podman gone, Podman-backed calls are UNAVAILABLE and Status says why", async () => {
      podman.kill("SIGKILL");
      await podman.exited();
      const unavailable = (err: CallError) => {
        assert.equal(err.code, grpcStatus.UNAVAILABLE, err.details);
        assert.match(err.details, /Podman is not reachable/);
        return true;
      };
      // A call that always asks Podman (RemoveImage looks the image up in Podman itself)...
      await assert.rejects(
        image.removeImage({ image: { image: "localhost/cri-podman-test/absent:never" } }),
        unavailable,
      );
      // ...and a read served from memory stops answering once the event stream's loss is seen (at once, here).
      const cacheRead = await waitFor(
        () => image.listImages({}).then(() => undefined, (err: CallError) => err),
        { timeoutMs: 5_000, intervalMs: 10, what: "ListImages to stop answering from memory" },
      );
      unavailable(cacheRead);
      const s = await runtime.status({});
      const ready = s.status?.conditions.find((c) => c.type === "RuntimeReady");
      assert.equal(ready?.status, false);
      assert.equal(ready?.reason, "PodmanUnreachable");
      assert.equal((await runtime.version({})).runtimeName, "cri-podman", "Version needs no Podman");
    });

    await t.step("when Podman is back, the same cri-podman process serves again", async () => {
      const pid = cri.pid;
      await podman.restart();
      await waitFor(() => image.listImages({}).then(() => true), { timeoutMs: 10_000, what: "ListImages to work" });
      const s = await runtime.status({});
      assert.equal(s.status?.conditions.find((c) => c.type === "RuntimeReady")?.status, true);
      assert.equal(cri.pid, pid);
      assert.ok(processExists(pid));
    });
  },
);

Deno.test(
  "embedded Podman: started when nothing answers, restarted when it dies, stopped on exit",
  async (t) => {
    await using dir = await makeTempDir("embedded");
    const podmanSocket = `${dir.path}/podman.sock`;
    await using cri = await startCriServer({ podmanSocket, embeddedPodman: true });
    const childPid = () => {
      const m = [...cri.log().matchAll(/started podman service pid=(\d+)/g)];
      return m.length ? Number(m[m.length - 1]![1]) : undefined;
    };

    let first = 0;
    await t.step("cri-podman started podman system service on the socket and serves through it", async () => {
      first = childPid()!;
      assert.ok(first > 0, cri.log());
      assert.ok(processExists(first));
      await cri.client.image.listImages({});
    });

    await t.step("killing the embedded service: it is restarted and calls work again", async () => {
      Deno.kill(first, "SIGKILL");
      await waitFor(() => childPid() !== first, { timeoutMs: 15_000, what: "a restarted podman service" });
      await waitFor(() => cri.client.image.listImages({}).then(() => true), { timeoutMs: 30_000, what: "ListImages" });
      assert.match(cri.log(), /podman service exited/);
    });

    await t.step("SIGTERM stops the embedded service too", async () => {
      const second = childPid()!;
      assert.equal(await cri.stop(), 0);
      await waitFor(() => !processExists(second), { timeoutMs: 10_000, what: "the embedded podman to exit" });
    });
  },
);
