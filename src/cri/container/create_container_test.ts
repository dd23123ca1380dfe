import assert from "node:assert/strict";
import { status } from "@grpc/grpc-js";
import { ContainerState, NamespaceMode } from "../../gen/runtime/v1/api_pb.ts";
import type { LibpodContainerSpec } from "../../podman/types.ts";
import { MASKED_PATHS_ANNOTATION, READONLY_PATHS_ANNOTATION } from "../../translate/oci_paths_hook.ts";
import { type InProcessCri, startInProcessCri } from "../../../tests/harness/in_process_cri.ts";
import {
  type CallWith,
  containerConfig,
  hungAndCancelled,
  hungPastDeadline,
  rejectsWith,
  runSandbox,
  sandboxConfig,
  storeBusybox,
} from "../../../tests/harness/handler_fixtures.ts";
import { makeTempDir } from "../../../tests/harness/temp.ts";

const SANDBOX = sandboxConfig("web");
const app = (patch: Record<string, unknown> = {}) => containerConfig("app", patch);

/** A sandbox (with `logDirectory` when given) and the busybox image. */
async function sandbox(cri: InProcessCri, logDirectory?: string): Promise<string> {
  storeBusybox(cri);
  return await runSandbox(cri, "web", logDirectory ? { logDirectory } : {});
}

/** CreateContainer of the app container in `podSandboxId`, to be run with the per-call options it is given. */
const createCall = (cri: InProcessCri, podSandboxId: string): CallWith => (opts) =>
  cri.runtime.createContainer({ podSandboxId, config: app() }, opts);

/** The containers of ours the fake holds (infra containers excluded). */
const created = (cri: InProcessCri) => [...cri.fake.containers_.values()].filter((c) => !c.isInfra);
const isOurs = ([spec]: unknown[]) => (spec as LibpodContainerSpec).name.startsWith("k8s_app_");

Deno.test("createContainer() creates a container in the sandbox from the stored image, not started", async () => {
  await using cri = await startInProcessCri();
  const podSandboxId = await sandbox(cri);
  const { containerId } = await cri.runtime.createContainer({
    podSandboxId,
    config: app({ command: ["/bin/sh", "-c"], args: ["sleep 1"], labels: { tier: "web" } }),
    sandboxConfig: SANDBOX,
  });
  const c = cri.fake.containers_.get(containerId)!;
  assert.equal(c.podId, podSandboxId);
  assert.equal(c.status, "created");
  assert.equal(c.name, "k8s_app_web_default_web-uid_0");
  assert.deepEqual(c.spec?.entrypoint, ["/bin/sh", "-c", "sleep 1"]);
  const s = await cri.runtime.containerStatus({ containerId });
  assert.equal(s.status?.state, ContainerState.CONTAINER_CREATED);
  assert.deepEqual(s.status?.labels, { tier: "web" });
});

Deno.test("createContainer() puts the log under the sandbox's log directory, creating its directory", async () => {
  await using dir = await makeTempDir("unit");
  await using cri = await startInProcessCri();
  const podSandboxId = await sandbox(cri, dir.path);
  const { containerId } = await cri.runtime.createContainer({
    podSandboxId,
    config: app({ logPath: "app/0.log" }),
    sandboxConfig: { ...SANDBOX, logDirectory: dir.path },
  });
  const logPath = `${dir.path}/app/0.log`;
  assert.deepEqual(cri.fake.containers_.get(containerId)?.spec?.log_configuration, {
    driver: "k8s-file",
    path: logPath,
  });
  assert.equal((await Deno.stat(`${dir.path}/app`)).isDirectory, true);
  assert.equal((await cri.runtime.containerStatus({ containerId })).status?.logPath, logPath);

  // A log path that leaves the log directory is refused naming config.log_path, and nothing more is created.
  await assert.rejects(
    cri.runtime.createContainer({
      podSandboxId,
      config: app({ metadata: { name: "escape", attempt: 0 }, logPath: "../../etc/passwd" }),
    }),
    rejectsWith(status.INVALID_ARGUMENT, /config\.log_path "\.\.\/\.\.\/etc\/passwd" escapes/),
  );
  assert.equal(created(cri).length, 1);
});

Deno.test("createContainer() refuses invalid requests with INVALID_ARGUMENT naming the field", async (t) => {
  await using dir = await makeTempDir("unit");
  await using cri = await startInProcessCri();
  const podSandboxId = await sandbox(cri);
  const cases: Array<[string, Record<string, unknown>, RegExp]> = [
    ["no config", { podSandboxId }, /^config must be set/],
    ["no metadata", { podSandboxId, config: { image: { image: "busybox" } } }, /config\.metadata/],
    ["an empty name", { podSandboxId, config: app({ metadata: { name: "" } }) }, /config\.metadata\.name/],
    ["a bad name", { podSandboxId, config: app({ metadata: { name: "a b" } }) }, /config\.metadata\.name/],
    ["no image", { podSandboxId, config: app({ image: { image: "" } }) }, /config\.image\.image/],
    ["an invalid image", { podSandboxId, config: app({ image: { image: "Bad:Ref:x" } }) }, /config\.image\.image/],
    ["no sandbox ID", { podSandboxId: "", config: app() }, /pod_sandbox_id/],
    ["an env key with '='", { podSandboxId, config: app({ envs: [{ key: "A=B" }] }) }, /config\.envs\[0\]\.key/],
    [
      "a relative container path",
      { podSandboxId, config: app({ mounts: [{ containerPath: "data", hostPath: dir.path }] }) },
      /config\.mounts\[0\]\.container_path/,
    ],
    [
      "a mount whose host path does not exist",
      {
        podSandboxId,
        config: app({
          mounts: [{ containerPath: "/a", hostPath: dir.path }, {
            containerPath: "/b",
            hostPath: `${dir.path}/missing`,
          }],
        }),
      },
      /config\.mounts\[1\]\.host_path ".*\/missing" does not exist/,
    ],
    [
      "a device whose host path does not exist",
      { podSandboxId, config: app({ devices: [{ containerPath: "/dev/x", hostPath: `${dir.path}/nodev` }] }) },
      /config\.devices\[0\]\.host_path/,
    ],
    ["a log path without a log directory", { podSandboxId, config: app({ logPath: "a.log" }) }, /config\.log_path/],
  ];
  for (const [what, req, pattern] of cases) {
    await t.step(what, async () => {
      await assert.rejects(cri.runtime.createContainer(req), rejectsWith(status.INVALID_ARGUMENT, pattern));
    });
  }
  assert.equal(cri.fake.callsOf("containers.create").length, 0, "Podman was never asked");
  assert.deepEqual(created(cri), []);
});

Deno.test("createContainer() answers NOT_FOUND for an image that is not stored, naming config.image.image", async () => {
  await using cri = await startInProcessCri();
  const podSandboxId = await sandbox(cri);
  await assert.rejects(
    cri.runtime.createContainer({ podSandboxId, config: app({ image: { image: "nginx:1.25" } }) }),
    rejectsWith(status.NOT_FOUND, /"nginx:1\.25" not found \(config\.image\.image\)/),
  );
  assert.deepEqual(created(cri), []);
});

Deno.test("createContainer() answers NOT_FOUND for an unknown sandbox", async () => {
  await using cri = await startInProcessCri();
  storeBusybox(cri);
  await assert.rejects(
    cri.runtime.createContainer({ podSandboxId: "0123456789ab", config: app() }),
    rejectsWith(status.NOT_FOUND, /0123456789ab/),
  );
});

Deno.test("createContainer() refuses a retry with ALREADY_EXISTS naming the existing container, and keeps one", async () => {
  await using cri = await startInProcessCri();
  const podSandboxId = await sandbox(cri);
  const { containerId } = await cri.runtime.createContainer({ podSandboxId, config: app() });
  await assert.rejects(
    cri.runtime.createContainer({ podSandboxId, config: app() }),
    rejectsWith(status.ALREADY_EXISTS, new RegExp(`"${containerId}"`)),
  );
  assert.deepEqual(created(cri).map((c) => c.id), [containerId]);
  const { containers } = await cri.runtime.listContainers({});
  assert.deepEqual(containers.map((c) => c.id), [containerId]);
});

Deno.test("createContainer() with the host's IPC namespace needs /dev/mqueue", async () => {
  await using cri = await startInProcessCri();
  const podSandboxId = await sandbox(cri);
  const config = app({ linux: { securityContext: { namespaceOptions: { ipc: NamespaceMode.NODE } } } });
  const hasMqueue = await Deno.stat("/dev/mqueue").then(() => true, () => false);
  if (hasMqueue) {
    const { containerId } = await cri.runtime.createContainer({ podSandboxId, config });
    assert.deepEqual(cri.fake.containers_.get(containerId)?.spec?.ipcns, { nsmode: "host" });
  } else {
    await assert.rejects(
      cri.runtime.createContainer({ podSandboxId, config }),
      rejectsWith(status.FAILED_PRECONDITION, /namespace_options\.ipc NODE.*\/dev\/mqueue/),
    );
    assert.equal(cri.fake.callsOf("containers.create").length, 0, "refused before Podman (which would panic)");
  }
});

Deno.test("createContainer() applies custom readonly_paths through the OCI hook, when Podman runs it", async (t) => {
  const custom = app({ linux: { securityContext: { readonlyPaths: ["/tmp"], maskedPaths: ["/proc/kcore"] } } });
  await t.step("the embedded Podman runs the hook: the container carries both lists as annotations", async () => {
    await using cri = await startInProcessCri();
    cri.state.ociPathsHook = true;
    const podSandboxId = await sandbox(cri);
    const { containerId } = await cri.runtime.createContainer({ podSandboxId, config: custom });
    const annotations = cri.fake.containers_.get(containerId)?.spec?.annotations;
    assert.equal(annotations?.[READONLY_PATHS_ANNOTATION], '["/tmp"]');
    assert.equal(annotations?.[MASKED_PATHS_ANNOTATION], '["/proc/kcore"]');
    // The CRI view shows the config's own annotations, not ours.
    const s = await cri.runtime.containerStatus({ containerId });
    assert.deepEqual(s.status?.annotations, {});
  });
  await t.step("an external Podman does not: FAILED_PRECONDITION naming the fix, nothing created", async () => {
    await using cri = await startInProcessCri({ podmanEmbedded: false });
    const podSandboxId = await sandbox(cri);
    await assert.rejects(
      cri.runtime.createContainer({ podSandboxId, config: custom }),
      rejectsWith(status.FAILED_PRECONDITION, /readonly_paths \["\/tmp"\].*need the embedded Podman service/),
    );
    assert.equal(cri.fake.callsOf("containers.create").length, 0);
  });
  await t.step("kubelet's default paths need no hook either way", async () => {
    await using cri = await startInProcessCri({ podmanEmbedded: false });
    const podSandboxId = await sandbox(cri);
    const defaults = app({
      linux: { securityContext: { readonlyPaths: ["/proc/sys"], maskedPaths: ["/proc/kcore"] } },
    });
    const { containerId } = await cri.runtime.createContainer({ podSandboxId, config: defaults });
    const annotations = cri.fake.containers_.get(containerId)?.spec?.annotations ?? {};
    assert.equal(READONLY_PATHS_ANNOTATION in annotations, false);
  });
});

Deno.test("createContainer() answers FAILED_PRECONDITION when Podman reports no /dev/mqueue", async () => {
  await using cri = await startInProcessCri();
  const podSandboxId = await sandbox(cri);
  cri.fake.failNext("containers.create", "no-mqueue", "mount /dev/mqueue: no such file or directory");
  await assert.rejects(
    cri.runtime.createContainer({ podSandboxId, config: app() }),
    rejectsWith(status.FAILED_PRECONDITION, /IPC namespace.*\/dev\/mqueue/),
  );
  assert.deepEqual(created(cri), []);
});

Deno.test("createContainer() leaves nothing behind when it fails half-way", async (t) => {
  await t.step("Podman fails the create", async () => {
    await using cri = await startInProcessCri();
    const podSandboxId = await sandbox(cri);
    cri.fake.failNext("containers.create", "unknown", "OCI runtime error");
    await assert.rejects(
      cri.runtime.createContainer({ podSandboxId, config: app() }),
      rejectsWith(status.UNKNOWN, /OCI runtime error/),
    );
    assert.deepEqual(created(cri), []);
    assert.deepEqual((await cri.runtime.listContainers({})).containers, []);
    // And the retry is not refused as a duplicate.
    const { containerId } = await cri.runtime.createContainer({ podSandboxId, config: app() });
    assert.deepEqual(created(cri).map((c) => c.id), [containerId]);
  });

  await t.step("reading the created container back fails", async () => {
    await using cri = await startInProcessCri({ events: false });
    const podSandboxId = await sandbox(cri);
    cri.fake.failNext("containers.inspect", "unreachable", "connection reset");
    await assert.rejects(
      cri.runtime.createContainer({ podSandboxId, config: app() }),
      rejectsWith(status.UNAVAILABLE, /connection reset/),
    );
    assert.deepEqual(created(cri), [], "the container the call made is removed again");
    assert.deepEqual((await cri.runtime.listContainers({})).containers, []);
    await cri.runtime.createContainer({ podSandboxId, config: app() }); // a retry is not ALREADY_EXISTS
  });

  await t.step("the deadline passes while reading the created container back", async () => {
    await using cri = await startInProcessCri({ events: false });
    const podSandboxId = await sandbox(cri);
    await hungPastDeadline(cri, "containers.inspect", createCall(cri, podSandboxId));
    assert.deepEqual(created(cri), [], "the container the call made is removed again");
  });
});

Deno.test("createContainer() passes its deadline to Podman: a hung create is aborted and answers DEADLINE_EXCEEDED", async () => {
  await using cri = await startInProcessCri();
  const podSandboxId = await sandbox(cri);
  await hungPastDeadline(cri, "containers.create", createCall(cri, podSandboxId), isOurs);
  assert.deepEqual(created(cri), []);
});

Deno.test("createContainer() passes a client cancel to Podman: a hung create is aborted and answers CANCELLED", async () => {
  await using cri = await startInProcessCri();
  const podSandboxId = await sandbox(cri);
  await hungAndCancelled(cri, "containers.create", createCall(cri, podSandboxId), isOurs);
  assert.deepEqual(created(cri), []);
});

Deno.test("createContainer() is listed as soon as it returns, before any event", async () => {
  await using cri = await startInProcessCri();
  const podSandboxId = await sandbox(cri);
  cri.fake.holdEvents();
  const { containerId } = await cri.runtime.createContainer({ podSandboxId, config: app() });
  const { containers } = await cri.runtime.listContainers({});
  assert.deepEqual(containers.map((c) => [c.id, c.state]), [[containerId, ContainerState.CONTAINER_CREATED]]);
  cri.fake.releaseEvents();
  await cri.settle();
  assert.deepEqual((await cri.runtime.listContainers({})).containers.map((c) => c.id), [containerId]);
});
