import assert from "node:assert/strict";
import {
  conmonExitFile,
  isContainerMainProcess,
  isRunning,
  type ProcFiles,
  signalContainerProcess,
  waitForExit,
  waitForNonEmptyFile,
} from "./container_process.ts";

const ID = "a".repeat(64);
const OTHER = "b".repeat(64);

/** A /proc of a few processes: pid → [state, ppid], and command lines. */
function fakeProc(stats: Record<number, [string, number]>, cmdlines: Record<number, string[]>): ProcFiles {
  return {
    readText(path) {
      const stat = /^\/proc\/(\d+)\/stat$/.exec(path);
      if (stat) {
        const entry = stats[Number(stat[1])];
        return entry ? `${stat[1]} (sleep) ${entry[0]} ${entry[1]} 1 1 0 -1` : undefined;
      }
      const cmd = /^\/proc\/(\d+)\/cmdline$/.exec(path);
      if (cmd) return cmdlines[Number(cmd[1])]?.join("\0");
      return undefined;
    },
  };
}

const conmon = (id: string) => ["/usr/bin/conmon", "--api-version", "1", "-c", id, "-u", id];

Deno.test("isContainerMainProcess() proves a pid by its parent: the conmon monitoring that container", () => {
  const proc = fakeProc(
    { 100: ["S", 99], 101: ["Z", 99], 200: ["S", 199], 300: ["S", 1] },
    { 99: conmon(ID), 199: conmon(OTHER), 1: ["/sbin/init"] },
  );
  assert.equal(isContainerMainProcess(100, ID, proc), true);
  assert.equal(isContainerMainProcess(101, ID, proc), false, "a zombie no longer runs");
  assert.equal(isContainerMainProcess(200, ID, proc), false, "another container's process");
  assert.equal(isContainerMainProcess(300, ID, proc), false, "a reused pid under init");
  assert.equal(isContainerMainProcess(400, ID, proc), false, "gone");
  assert.equal(isContainerMainProcess(0, ID, proc), false);
});

Deno.test("signalContainerProcess() signals only a proven pid, and tells a refusal from an end", () => {
  const proc = fakeProc({ 100: ["S", 99] }, { 99: conmon(ID) });
  const sent: [number, Deno.Signal][] = [];
  assert.equal(signalContainerProcess(100, ID, "SIGTERM", proc, (p, s) => sent.push([p, s])), "sent");
  assert.deepEqual(sent, [[100, "SIGTERM"]]);
  assert.equal(signalContainerProcess(100, OTHER, "SIGKILL", proc, () => assert.fail("not ours")), "gone");
  const refuse = () => {
    throw new Deno.errors.PermissionDenied("EPERM");
  };
  assert.equal(signalContainerProcess(100, ID, "SIGKILL", proc, refuse), "denied");
  const vanished = () => {
    throw new Deno.errors.NotFound("ESRCH");
  };
  assert.equal(signalContainerProcess(100, ID, "SIGKILL", proc, vanished), "gone");
});

Deno.test("waitForExit() resolves true once every pid ended (zombies count), false at the timeout", async () => {
  const stats: Record<number, [string, number]> = { 100: ["S", 99], 101: ["S", 99] };
  const proc = fakeProc(stats, {});
  assert.equal(isRunning(100, proc), true);
  setTimeout(() => stats[100] = ["Z", 99], 10);
  setTimeout(() => delete stats[101], 20);
  assert.equal(await waitForExit([100, 101], 2_000, { proc }), true);
  stats[102] = ["S", 99];
  assert.equal(await waitForExit([102], 30, { proc }), false);
});

Deno.test("conmonExitFile() names the file in the --exit-dir of the container's own conmon", () => {
  const withDir = [
    ...conmon(ID),
    "--exit-dir",
    "/run/user/1000/libpod/tmp/exits/",
    "--exit-command",
    "/usr/bin/podman",
  ];
  const proc = fakeProc(
    { 100: ["S", 99], 200: ["S", 199], 300: ["S", 299] },
    { 99: withDir, 199: conmon(OTHER), 299: conmon(ID) },
  );
  assert.equal(conmonExitFile(100, ID, proc), `/run/user/1000/libpod/tmp/exits/${ID}`);
  assert.equal(conmonExitFile(200, ID, proc), undefined, "not that container's process");
  assert.equal(conmonExitFile(300, ID, proc), undefined, "a conmon without --exit-dir");
});

Deno.test("waitForNonEmptyFile() waits for the exit code, not for an empty file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/exit`;
    assert.equal(await waitForNonEmptyFile(path, 20), false, "absent");
    await Deno.writeTextFile(path, "");
    assert.equal(await waitForNonEmptyFile(path, 20), false, "empty");
    setTimeout(() => Deno.writeTextFileSync(path, "137"), 10);
    assert.equal(await waitForNonEmptyFile(path, 2_000), true);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
