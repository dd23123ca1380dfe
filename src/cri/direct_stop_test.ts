import assert from "node:assert/strict";
import type { LibpodContainerInspect } from "../podman/types.ts";
import type { RpcContext } from "./context.ts";
import { awaitRecordedExit } from "./direct_stop.ts";

/** A context whose Podman answers `states` to successive inspects (the last one from then on). */
function contextAnswering(states: (LibpodContainerInspect["State"] | undefined)[]) {
  let calls = 0;
  const ctx = {
    signal: new AbortController().signal,
    podman: {
      containers: {
        inspect: () => {
          const state = states[Math.min(calls++, states.length - 1)];
          return Promise.resolve(state ? ({ Id: "c1", State: state } as LibpodContainerInspect) : undefined);
        },
      },
    },
  } as unknown as RpcContext;
  return { ctx, calls: () => calls };
}

const RUNNING = { Status: "running", Running: true, Pid: 42, ExitCode: 0 } as LibpodContainerInspect["State"];
const STOPPED = { Status: "stopped", Running: false, Pid: 0, ExitCode: 137 } as LibpodContainerInspect["State"];

Deno.test("awaitRecordedExit() waits until Podman has recorded the exit conmon reports", async (t) => {
  await t.step("still running twice, then stopped: true after the third read", async () => {
    const { ctx, calls } = contextAnswering([RUNNING, RUNNING, STOPPED]);
    assert.equal(await awaitRecordedExit(ctx, "c1"), true);
    assert.equal(calls(), 3);
  });
  await t.step("a container that is gone counts as recorded", async () => {
    const { ctx } = contextAnswering([undefined]);
    assert.equal(await awaitRecordedExit(ctx, "c1"), true);
  });
  await t.step("never recorded within the wait: false (the caller asks Podman's stop)", async () => {
    const { ctx, calls } = contextAnswering([RUNNING]);
    assert.equal(await awaitRecordedExit(ctx, "c1", 30), false);
    assert.ok(calls() >= 2);
  });
});
