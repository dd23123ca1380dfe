import assert from "node:assert/strict";
import { PodmanHttp } from "./client.ts";
import { PodmanContainers } from "./containers.ts";
import { isPodmanFailure } from "./errors.ts";

// undici keeps a module-wide clock timer past its last connection (see client_metrics_test.ts).
const UNDICI_CLOCK = { sanitizeOps: false, sanitizeResources: false };

/** A libpod that fails the first `failures` inspects as Podman 4.3 does when the container's process exits under it. */
function flakyInspect(dir: string, failures: number) {
  const path = `${dir}/podman.sock`;
  let calls = 0;
  const server = Deno.serve({ path, onListen: () => {} }, () => {
    calls++;
    if (calls <= failures) {
      const message = "read /proc/28332/cgroup: no such process";
      return Response.json({ cause: "no such process", message, response: 500 }, { status: 500 });
    }
    return Response.json({ Id: "c1", State: { Status: "exited", Running: false, ExitCode: 0, Pid: 0 } });
  });
  return { path, server, calls: () => calls };
}

Deno.test("containers.inspect() reads again when the process exited under Podman's read", UNDICI_CLOCK, async (t) => {
  const dir = await Deno.makeTempDir();
  try {
    await t.step("one such failure: the second read answers", async () => {
      const libpod = flakyInspect(dir, 1);
      const http = new PodmanHttp(libpod.path);
      try {
        const inspect = await new PodmanContainers(http).inspect("c1");
        assert.equal(inspect?.State.Status, "exited");
        assert.equal(libpod.calls(), 2);
      } finally {
        await http.close();
        await libpod.server.shutdown();
      }
    });
    await t.step("it keeps failing: the failure, with its reason, after 3 reads", async () => {
      const libpod = flakyInspect(dir, 10);
      const http = new PodmanHttp(libpod.path);
      try {
        await assert.rejects(
          new PodmanContainers(http).inspect("c1"),
          (err) => isPodmanFailure(err, "process-gone") && /no such process/.test(err.message),
        );
        assert.equal(libpod.calls(), 3);
      } finally {
        await http.close();
        await libpod.server.shutdown();
      }
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
