import assert from "node:assert/strict";
import { status } from "@grpc/grpc-js";
import { CgroupDriver } from "../../gen/runtime/v1/api_pb.ts";
import { startInProcessCri } from "../../../tests/harness/in_process_cri.ts";
import { rejectsWith } from "../../../tests/harness/handler_fixtures.ts";

Deno.test("runtimeConfig() tells the cgroup driver matching Podman's cgroup manager", async (t) => {
  for (const [manager, driver] of [["cgroupfs", CgroupDriver.CGROUPFS], ["systemd", CgroupDriver.SYSTEMD]] as const) {
    await t.step(`${manager} → ${CgroupDriver[driver]}`, async () => {
      await using cri = await startInProcessCri();
      cri.fake.info.host.cgroupManager = manager;
      assert.equal((await cri.runtime.runtimeConfig({})).linux?.cgroupDriver, driver);
    });
  }
});

Deno.test("runtimeConfig() reads Podman's info once for many calls (cached)", async () => {
  await using cri = await startInProcessCri();
  await Promise.all([cri.runtime.runtimeConfig({}), cri.runtime.runtimeConfig({})]);
  await cri.runtime.runtimeConfig({});
  assert.equal(cri.fake.callsOf("system.info").length, 1);
});

Deno.test("runtimeConfig() passes Podman's failure on, and asks again on the next call", async () => {
  await using cri = await startInProcessCri();
  cri.fake.failNext("system.info", "unreachable", "connection refused");
  await assert.rejects(cri.runtime.runtimeConfig({}), rejectsWith(status.UNAVAILABLE, /connection refused/));
  assert.equal((await cri.runtime.runtimeConfig({})).linux?.cgroupDriver, CgroupDriver.CGROUPFS);
});

Deno.test("runtimeConfig() answers DEADLINE_EXCEEDED on time while Podman's info is slow; others still get it", async () => {
  await using cri = await startInProcessCri();
  // A slow info read: it is shared by every caller, so one caller's deadline must not abort it.
  let answer!: () => void;
  const info = cri.fake.system.info;
  cri.fake.system.info = async (opts) => {
    await new Promise<void>((resolve) => answer = resolve);
    return await info(opts);
  };
  const patient = cri.runtime.runtimeConfig({});
  await assert.rejects(
    cri.runtime.runtimeConfig({}, { timeoutMs: 30 }),
    rejectsWith(status.DEADLINE_EXCEEDED, /deadline/),
  );
  const cancel = new AbortController();
  const cancelled = cri.runtime.runtimeConfig({}, { signal: cancel.signal });
  cancel.abort();
  await assert.rejects(cancelled, rejectsWith(status.CANCELLED, /canceled by the client/));
  answer();
  assert.equal((await patient).linux?.cgroupDriver, CgroupDriver.CGROUPFS);
  assert.deepEqual(cri.fake.callsOf("system.info").map((c) => c.aborted), [false], "one read, never aborted");
});
