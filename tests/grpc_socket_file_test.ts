import assert from "node:assert/strict";
import net from "node:net";
import { CriError } from "../src/errors.ts";
import { prepareSocketPath, removeSocketFile, secureSocketFile } from "../src/grpc/socket_file.ts";

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "cri-sockfile-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

// A socket file nobody listens on: a child process listens, then exits without closing.
async function makeStaleSocket(socketPath: string): Promise<void> {
  const code = `Deno.listen({ transport: "unix", path: ${JSON.stringify(socketPath)} }); Deno.exit(0);`;
  const { success } = await new Deno.Command(Deno.execPath(), { args: ["eval", code], stdout: "null" }).output();
  assert.ok(success);
  assert.ok((await Deno.lstat(socketPath)).isSocket);
}

function listen(socketPath: string): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const server = net.createServer((socket) => socket.destroy());
    server.once("error", reject);
    server.listen(socketPath, () => resolve(server));
  });
}

const close = (server: net.Server) => new Promise<void>((resolve) => server.close(() => resolve()));

Deno.test("prepareSocketPath() creates a missing parent folder with mode 0700", async () => {
  await withTempDir(async (dir) => {
    const socketPath = `${dir}/a/b/cri.sock`;
    assert.deepEqual(await prepareSocketPath(socketPath), { createdParent: true, removedStale: false });
    assert.equal((await Deno.stat(`${dir}/a/b`)).mode! & 0o777, 0o700);
    assert.deepEqual(await prepareSocketPath(socketPath), { createdParent: false, removedStale: false });
  });
});

Deno.test("prepareSocketPath() removes a stale socket nobody listens on", async () => {
  await withTempDir(async (dir) => {
    const socketPath = `${dir}/cri.sock`;
    await makeStaleSocket(socketPath);
    assert.deepEqual(await prepareSocketPath(socketPath), { createdParent: false, removedStale: true });
    await assert.rejects(Deno.lstat(socketPath), Deno.errors.NotFound);
  });
});

Deno.test("prepareSocketPath() refuses a socket another server is listening on, and leaves it alone", async () => {
  await withTempDir(async (dir) => {
    const socketPath = `${dir}/cri.sock`;
    const server = await listen(socketPath);
    try {
      await assert.rejects(prepareSocketPath(socketPath), (err: unknown) => {
        assert.ok(err instanceof CriError);
        assert.equal(err.code, "AlreadyExists");
        assert.equal(err.message, `Another server is listening on "${socketPath}"`);
        return true;
      });
      assert.ok((await Deno.lstat(socketPath)).isSocket);
    } finally {
      await close(server);
    }
  });
});

Deno.test("prepareSocketPath() refuses a path holding a regular file or a folder", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/file.sock`, "keep me");
    await Deno.mkdir(`${dir}/dir.sock`);
    for (const name of ["file.sock", "dir.sock"]) {
      await assert.rejects(prepareSocketPath(`${dir}/${name}`), (err: unknown) => {
        assert.ok(err instanceof CriError);
        assert.equal(err.code, "FailedPrecondition");
        assert.match(err.message, /is not a socket/);
        return true;
      });
    }
    assert.equal(await Deno.readTextFile(`${dir}/file.sock`), "keep me");
  });
});

Deno.test("prepareSocketPath() refuses a path longer than sun_path", async () => {
  await assert.rejects(prepareSocketPath(`/tmp/${"x".repeat(120)}.sock`), /too long: 130 bytes/);
});

Deno.test("secureSocketFile() sets 0660 and removeSocketFile() removes only that socket", async () => {
  await withTempDir(async (dir) => {
    const socketPath = `${dir}/cri.sock`;
    await makeStaleSocket(socketPath);
    const id = await secureSocketFile(socketPath);
    assert.equal((await Deno.lstat(socketPath)).mode! & 0o777, 0o660);
    // A successor's socket at the same path is not ours to remove (made beside it, so its inode differs).
    await makeStaleSocket(`${dir}/successor.sock`);
    await Deno.rename(`${dir}/successor.sock`, socketPath);
    assert.equal(await removeSocketFile(socketPath, id), false);
    assert.ok((await Deno.lstat(socketPath)).isSocket);
    assert.equal(await removeSocketFile(socketPath), true);
    assert.equal(await removeSocketFile(socketPath), false);
  });
});
