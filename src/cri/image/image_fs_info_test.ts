import assert from "node:assert/strict";
import { status } from "@grpc/grpc-js";
import { startInProcessCri } from "../../../tests/harness/in_process_cri.ts";
import { rejectsWith } from "../../../tests/harness/handler_fixtures.ts";

Deno.test("imageFsInfo() reports the usage of Podman's graph root", async () => {
  await using cri = await startInProcessCri();
  const walked: string[] = [];
  Object.assign(cri.deps, {
    fsUsage: {
      usage: (root: string) => {
        walked.push(root);
        return Promise.resolve({ usedBytes: 123_456n, inodesUsed: 789n, unreadableDirs: 0, timestampMs: 1.7e12 });
      },
    },
  });
  const { imageFilesystems, containerFilesystems } = await cri.image.imageFsInfo({});
  assert.deepEqual(walked, ["/nonexistent/graph-root"]);
  assert.equal(imageFilesystems.length, 1);
  const fs = imageFilesystems[0]!;
  assert.equal(fs.fsId?.mountpoint, "/nonexistent/graph-root");
  assert.equal(fs.usedBytes?.value, 123_456n);
  assert.equal(fs.inodesUsed?.value, 789n);
  assert.equal(fs.timestamp, 1_700_000_000_000n * 1_000_000n, "nanoseconds");
  assert.deepEqual(containerFilesystems, []);
});

Deno.test("imageFsInfo() asks Podman for its info once, then answers from the cache", async () => {
  await using cri = await startInProcessCri();
  await cri.image.imageFsInfo({});
  await cri.image.imageFsInfo({});
  assert.equal(cri.fake.callsOf("system.info").length, 1);
});

Deno.test("imageFsInfo() answers UNAVAILABLE while Podman cannot be reached, and recovers", async () => {
  await using cri = await startInProcessCri();
  cri.fake.failNext("system.info", "unreachable", "connect ECONNREFUSED");
  await assert.rejects(cri.image.imageFsInfo({}), rejectsWith(status.UNAVAILABLE, /ECONNREFUSED/));
  const { imageFilesystems } = await cri.image.imageFsInfo({});
  assert.equal(imageFilesystems[0]?.usedBytes?.value, 4096n);
});
