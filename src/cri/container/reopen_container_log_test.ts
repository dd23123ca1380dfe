// The happy path (conmon reopens the log after kubelet renamed it) needs a real conmon and its control FIFO: it stays in
// the integration suite ("ReopenContainerLog: kubelet's rotation round trip loses no line", tests/container_test.ts).
import assert from "node:assert/strict";
import { status } from "@grpc/grpc-js";
import { type InProcessCri, startInProcessCri } from "../../../tests/harness/in_process_cri.ts";
import {
  createContainer,
  hungPastDeadline,
  refusesUnknownAndEmptyContainerId,
  rejectsWith,
  runSandbox,
} from "../../../tests/harness/handler_fixtures.ts";
import { makeTempDir } from "../../../tests/harness/temp.ts";

/** A sandbox (logging to `logDirectory` when given) with one container, with a log path when there is one. */
async function container(cri: InProcessCri, logDirectory?: string): Promise<string> {
  const podSandboxId = await runSandbox(cri, "web", logDirectory ? { logDirectory } : {});
  return await createContainer(cri, podSandboxId, "app", logDirectory ? { logPath: "app/0.log" } : {});
}

Deno.test("reopenContainerLog() answers FAILED_PRECONDITION for a container that does not run", async (t) => {
  await using dir = await makeTempDir("unit");
  await using cri = await startInProcessCri();
  const containerId = await container(cri, dir.path);
  await t.step("created", async () => {
    await assert.rejects(
      cri.runtime.reopenContainerLog({ containerId }),
      rejectsWith(status.FAILED_PRECONDITION, /is not running/),
    );
  });
  await t.step("stopped", async () => {
    await cri.runtime.startContainer({ containerId });
    await cri.runtime.stopContainer({ containerId, timeout: 0n });
    await assert.rejects(
      cri.runtime.reopenContainerLog({ containerId }),
      rejectsWith(status.FAILED_PRECONDITION, /is not running/),
    );
  });
});

Deno.test("reopenContainerLog() answers FAILED_PRECONDITION for a running container without a log path", async () => {
  await using cri = await startInProcessCri();
  const containerId = await container(cri);
  await cri.runtime.startContainer({ containerId });
  await assert.rejects(
    cri.runtime.reopenContainerLog({ containerId }),
    rejectsWith(status.FAILED_PRECONDITION, /has no log path/),
  );
});

Deno.test("reopenContainerLog() answers NOT_FOUND for an unknown container and INVALID_ARGUMENT for none", async () => {
  await using cri = await startInProcessCri();
  await refusesUnknownAndEmptyContainerId((containerId) => cri.runtime.reopenContainerLog({ containerId }));
});

Deno.test("reopenContainerLog() passes its deadline to Podman: a hung inspect is aborted and answers DEADLINE_EXCEEDED", async () => {
  await using cri = await startInProcessCri();
  const containerId = await container(cri);
  await hungPastDeadline(cri, "containers.inspect", (opts) => cri.runtime.reopenContainerLog({ containerId }, opts));
});
