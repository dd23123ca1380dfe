import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { liveGroupMembers, processArgs, processStartTime, terminateProcessGroup } from "./processes.ts";

Deno.test("terminateProcessGroup() ends a group leader and what it forked, which a signal to the leader alone would not", async () => {
  // The leader ignores SIGTERM's default for its child: `sleep` in the background stays when only `sh` is signalled.
  const leader = spawn("sh", ["-c", "sleep 300 & sleep 300 & wait"], { detached: true, stdio: "ignore" });
  const pgid = leader.pid!;
  const exited = new Promise((resolve) => leader.once("exit", resolve));
  for (let i = 0; i < 100 && liveGroupMembers(pgid).length < 3; i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal(liveGroupMembers(pgid).length, 3, "sh and two sleeps");
  assert.equal((await processArgs(pgid))[1], "-c");
  assert.equal(typeof await processStartTime(pgid), "number");
  assert.equal(await terminateProcessGroup(pgid, 2_000), true);
  assert.deepEqual(liveGroupMembers(pgid), []);
  await exited;
  assert.equal(await processStartTime(pgid), undefined);
});
