import assert from "node:assert/strict";
import { PullBlobWatcher } from "./pull_blobs.ts";

/** Writes `bytes` zero bytes to `path` (creating its directory). */
async function blob(path: string, bytes: number): Promise<void> {
  await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true });
  await Deno.writeFile(path, new Uint8Array(bytes));
}

const tick = () => new Promise((r) => setTimeout(r, 15)); // birth times of directories made after it differ

Deno.test("PullBlobWatcher reads a pull's bytes from the blob directory Podman's image copy writes", async (t) => {
  const root = await Deno.makeTempDir();
  const other = await Deno.makeTempDir();
  try {
    await t.step("0 before the directory appears; then the sum of its files as they grow", async () => {
      const watcher = new PullBlobWatcher([root, other, "/nonexistent/tmp", ""]);
      await blob(`${root}/storage111/1`, 7_000); // there before the pull began: not its
      await blob(`${root}/unrelated/1`, 99);
      const pull = await watcher.track();
      assert.equal(await pull.bytes(), 0);
      await tick();
      await blob(`${other}/storage222/1`, 1_000);
      assert.equal(await pull.bytes(), 1_000);
      await blob(`${other}/storage222/1`, 4_000);
      await blob(`${other}/storage222/2`, 500);
      assert.equal(await pull.bytes(), 4_500);
      await Deno.remove(`${other}/storage222`, { recursive: true }); // committed: Podman removes it
      assert.equal(await pull.bytes(), 4_500, "the last size seen stays");
      pull.release();
      await Deno.remove(`${root}/storage111`, { recursive: true });
    });

    await t.step("two pulls at once: new directories go to the pulls in the order both appeared", async () => {
      const watcher = new PullBlobWatcher([root]);
      const first = await watcher.track();
      await tick();
      const second = await watcher.track();
      await tick();
      await blob(`${root}/storage301/1`, 100); // the first pull's, created first
      await tick();
      await blob(`${root}/container_images_storage302/1`, 200);
      assert.equal(await second.bytes(), 200);
      assert.equal(await first.bytes(), 100);
      first.release();
      second.release();
      first.release(); // idempotent
      assert.equal(await first.bytes(), 100, "a released pull keeps its count and scans nothing");
    });
  } finally {
    await Deno.remove(root, { recursive: true });
    await Deno.remove(other, { recursive: true });
  }
});
