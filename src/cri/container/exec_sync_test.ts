import assert from "node:assert/strict";
import { status } from "@grpc/grpc-js";
import type { ExecRunOptions } from "../../podman/exec.ts";
import { type InProcessCri, startInProcessCri } from "../../../tests/harness/in_process_cri.ts";
import {
  createContainer,
  hungAndCancelled,
  hungPastDeadline,
  rejectsWith,
  runSandbox,
} from "../../../tests/harness/handler_fixtures.ts";

const bytes = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array) => new TextDecoder().decode(b);

/** A sandbox with one container, started unless `start` is false. */
async function container(cri: InProcessCri, start = true): Promise<string> {
  const containerId = await createContainer(cri, await runSandbox(cri));
  if (start) await cri.runtime.startContainer({ containerId });
  return containerId;
}

Deno.test("execSync() answers the command's exit code and its stdout and stderr, kept apart", async () => {
  await using cri = await startInProcessCri();
  const containerId = await container(cri);
  const seen: Array<{ id: string; argv: readonly string[]; opts: ExecRunOptions }> = [];
  cri.fake.execBehaviour = (id, argv, opts) => {
    seen.push({ id, argv, opts });
    return Promise.resolve({ exitCode: 3, stdout: bytes("out\n"), stderr: bytes("err\n") });
  };
  const res = await cri.runtime.execSync({ containerId, cmd: ["sh", "-c", "echo out; echo err >&2; exit 3"] });
  assert.equal(res.exitCode, 3);
  assert.equal(text(res.stdout), "out\n");
  assert.equal(text(res.stderr), "err\n");
  assert.equal(seen.length, 1);
  assert.equal(seen[0]!.id, containerId);
  assert.deepEqual(seen[0]!.argv, ["sh", "-c", "echo out; echo err >&2; exit 3"]);
  assert.equal(seen[0]!.opts.timeoutMs, undefined, "timeout 0: no limit");
  assert.ok((seen[0]!.opts.maxOutputBytes ?? 0) > 0, "output is capped");
});

Deno.test("execSync() passes its timeout to the exec, and answers DEADLINE_EXCEEDED when the command ran past it", async () => {
  await using cri = await startInProcessCri();
  const containerId = await container(cri);
  let timeoutMs: number | undefined;
  cri.fake.execBehaviour = (_id, _argv, opts) => {
    timeoutMs = opts.timeoutMs;
    return Promise.resolve({ exitCode: 137, timedOut: true, stdout: bytes("partial") });
  };
  await assert.rejects(
    cri.runtime.execSync({ containerId, cmd: ["sleep", "60"], timeout: 2n }),
    rejectsWith(status.DEADLINE_EXCEEDED, /timed out after 2s/),
  );
  assert.equal(timeoutMs, 2_000);
});

Deno.test("execSync() refuses invalid requests with INVALID_ARGUMENT naming the field", async (t) => {
  await using cri = await startInProcessCri();
  const containerId = await container(cri);
  await t.step("an empty cmd", async () => {
    await assert.rejects(
      cri.runtime.execSync({ containerId, cmd: [] }),
      rejectsWith(status.INVALID_ARGUMENT, /\bcmd\b/),
    );
  });
  await t.step("no container ID", async () => {
    await assert.rejects(
      cri.runtime.execSync({ containerId: "", cmd: ["true"] }),
      rejectsWith(status.INVALID_ARGUMENT, /container_id/),
    );
  });
  assert.equal(cri.fake.callsOf("exec.run").length, 0);
});

Deno.test("execSync() answers FAILED_PRECONDITION in a container that does not run", async (t) => {
  await using cri = await startInProcessCri();
  const containerId = await container(cri, false);
  await t.step("created, never started", async () => {
    await assert.rejects(
      cri.runtime.execSync({ containerId, cmd: ["true"] }),
      rejectsWith(status.FAILED_PRECONDITION, /state improper/),
    );
  });
  await t.step("stopped", async () => {
    await cri.runtime.startContainer({ containerId });
    await cri.runtime.stopContainer({ containerId, timeout: 0n });
    await assert.rejects(
      cri.runtime.execSync({ containerId, cmd: ["true"] }),
      rejectsWith(status.FAILED_PRECONDITION, /state improper/),
    );
  });
});

Deno.test("execSync() answers NOT_FOUND for an unknown container", async () => {
  await using cri = await startInProcessCri();
  await assert.rejects(
    cri.runtime.execSync({ containerId: "0123456789abcdef", cmd: ["true"] }),
    rejectsWith(status.NOT_FOUND, /0123456789abcdef/),
  );
});

Deno.test("execSync() passes its deadline to Podman: a hung exec is aborted and answers DEADLINE_EXCEEDED", async () => {
  await using cri = await startInProcessCri();
  const containerId = await container(cri);
  await hungPastDeadline(cri, "exec.run", (opts) => cri.runtime.execSync({ containerId, cmd: ["sleep", "60"] }, opts));
});

Deno.test("execSync() passes a client cancel to Podman: a hung exec is aborted and answers CANCELLED", async () => {
  await using cri = await startInProcessCri();
  const containerId = await container(cri);
  await hungAndCancelled(cri, "exec.run", (opts) => cri.runtime.execSync({ containerId, cmd: ["sleep", "60"] }, opts));
});
