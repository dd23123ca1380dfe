import assert from "node:assert/strict";
import { ensurePrivateDirectory, resolveRuntimeDir, runtimeDirProblem } from "./runtime_dir.ts";

const uid = Deno.uid() ?? 0;

Deno.test("runtimeDirProblem()", async (t) => {
  const base = await Deno.makeTempDir({ prefix: "cri-podman-rtdir-" });
  try {
    await t.step("runtimeDirProblem() accepts a private directory of ours", async () => {
      assert.equal(await runtimeDirProblem(base, { fromEnv: true, uid }), undefined);
    });
    await t.step("runtimeDirProblem() names the install command for a missing default directory", async () => {
      const problem = await runtimeDirProblem(`${base}/missing`, { fromEnv: false, uid });
      assert.match(problem ?? "", /XDG_RUNTIME_DIR is not set and ".*\/missing" does not exist/);
      assert.match(problem ?? "", /install -d -m 0700 -o \S+ -g \S+ .*\/missing/);
    });
    await t.step("runtimeDirProblem() names XDG_RUNTIME_DIR when it was set", async () => {
      assert.match(await runtimeDirProblem(`${base}/gone`, { fromEnv: true, uid }) ?? "", /^XDG_RUNTIME_DIR ".*gone"/);
    });
    await t.step("runtimeDirProblem() refuses a file", async () => {
      await Deno.writeTextFile(`${base}/file`, "");
      assert.match(await runtimeDirProblem(`${base}/file`, { fromEnv: true, uid }) ?? "", /is not a directory/);
    });
    await t.step("runtimeDirProblem() refuses a directory that belongs to someone else", async () => {
      assert.match(
        await runtimeDirProblem(base, { fromEnv: true, uid: uid + 1 }) ?? "",
        /belongs to uid \d+, not to you/,
      );
    });
    await t.step(
      "ensurePrivateDirectory() creates missing parents with mode 0700 and keeps existing ones",
      async () => {
        await ensurePrivateDirectory(`${base}/a/b`);
        assert.equal((await Deno.stat(`${base}/a/b`)).mode! & 0o777, 0o700);
        await ensurePrivateDirectory(`${base}/a/b`);
      },
    );
  } finally {
    await Deno.remove(base, { recursive: true });
  }
});

Deno.test("resolveRuntimeDir() takes $XDG_RUNTIME_DIR when set and non-empty, else /run/user/<uid>", () => {
  assert.deepEqual(resolveRuntimeDir({ XDG_RUNTIME_DIR: "/tmp/rt" }, 1000), { path: "/tmp/rt", fromEnv: true });
  assert.deepEqual(resolveRuntimeDir({ XDG_RUNTIME_DIR: "" }, 1000), { path: "/run/user/1000", fromEnv: false });
  assert.deepEqual(resolveRuntimeDir({}, 1001), { path: "/run/user/1001", fromEnv: false });
});
