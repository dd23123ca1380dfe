import assert from "node:assert/strict";
import { status } from "@grpc/grpc-js";
import { type InProcessCri, startInProcessCri } from "../../../tests/harness/in_process_cri.ts";
import {
  hungPastDeadline,
  refusesUnknownAndEmptyContainerId,
  rejectsWith,
  runSandbox,
  startedContainer,
} from "../../../tests/harness/handler_fixtures.ts";

const LIMITS = { cpuShares: 256n, cpuQuota: 50_000n, cpuPeriod: 100_000n, memoryLimitInBytes: 64n << 20n };

/**
 * A sandbox with one running container, on a host whose cgroup controllers are `controllers` (set before the first
 * call: Podman's info is cached).
 */
async function running(cri: InProcessCri, cgroupVersion: string, controllers: string[]): Promise<string> {
  cri.fake.info.host.cgroupVersion = cgroupVersion;
  cri.fake.info.host.cgroupControllers = controllers;
  return await startedContainer(cri, await runSandbox(cri));
}

Deno.test("updateContainerResources() answers FAILED_PRECONDITION naming the cgroup situation without controllers", async (t) => {
  for (
    const [version, controllers, pattern] of [
      ["v1", [], /cgroup v1, controllers: none/],
      ["v2", ["pids"], /cgroup v2, controllers: pids/],
      ["v2", ["memory", "pids"], /cgroup v2, controllers: memory, pids/],
    ] as const
  ) {
    await t.step(`cgroup ${version} with ${controllers.join(", ") || "no controllers"}`, async () => {
      await using cri = await startInProcessCri();
      const containerId = await running(cri, version, [...controllers]);
      await assert.rejects(
        cri.runtime.updateContainerResources({ containerId, linux: LIMITS }),
        rejectsWith(status.FAILED_PRECONDITION, pattern),
      );
      assert.equal(cri.fake.callsOf("containers.update").length, 0);
    });
  }
});

Deno.test("updateContainerResources() applies the limits through Podman where cpu and memory are delegated", async () => {
  await using cri = await startInProcessCri();
  const containerId = await running(cri, "v2", ["cpu", "memory", "pids"]);
  await cri.runtime.updateContainerResources({ containerId, linux: LIMITS });
  assert.deepEqual(cri.fake.callsOf("containers.update").map((c) => c.args), [[containerId, {
    cpu: { shares: 256, quota: 50_000, period: 100_000 },
    memory: { limit: 64 * 1024 * 1024 },
  }]]);
});

Deno.test("updateContainerResources() asks Podman nothing when no limit is given", async () => {
  await using cri = await startInProcessCri();
  const containerId = await running(cri, "v2", ["cpu", "memory"]);
  await cri.runtime.updateContainerResources({ containerId });
  await cri.runtime.updateContainerResources({ containerId, linux: {} });
  assert.equal(cri.fake.callsOf("containers.update").length, 0);
});

Deno.test("updateContainerResources() answers NOT_FOUND for an unknown container and INVALID_ARGUMENT for none", async () => {
  await using cri = await startInProcessCri();
  await refusesUnknownAndEmptyContainerId((containerId) =>
    cri.runtime.updateContainerResources({ containerId, linux: LIMITS })
  );
});

Deno.test("updateContainerResources() passes its deadline to Podman: a hung update is aborted and answers DEADLINE_EXCEEDED", async () => {
  await using cri = await startInProcessCri();
  const containerId = await running(cri, "v2", ["cpu", "memory"]);
  await hungPastDeadline(
    cri,
    "containers.update",
    (opts) => cri.runtime.updateContainerResources({ containerId, linux: LIMITS }, opts),
  );
});
