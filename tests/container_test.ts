/**
 * Integration: the container lifecycle on real rootless Podman through the real cri-podman process — what kubelet
 * relies on: argv and env semantics, logs in the CRI format, statuses, stop timeouts, security settings, bad input
 * leaving nothing behind, and the event-fed List cache.
 */
import assert from "node:assert/strict";
import { status as grpcStatus } from "@grpc/grpc-js";
import type { MessageInitShape } from "@bufbuild/protobuf";
import {
  type ContainerConfigSchema,
  ContainerState,
  MountPropagation,
  NamespaceMode,
  type PodSandboxConfigSchema,
  SecurityProfile_ProfileType,
  Signal,
} from "../src/gen/runtime/v1/api_pb.ts";
import { run } from "./harness/_process.ts";
import { BUSYBOX_IMAGE, ensureBusyboxImage } from "./harness/busybox_image.ts";
import type { CallError, CriClient } from "./harness/cri_client.ts";
import { type CriServer, startCriServer } from "./harness/cri_server.ts";
import { startPodmanService } from "./harness/podman_service.ts";
import { makeTempDir, type TempDir, uniqueName, waitFor } from "./harness/temp.ts";

type ContainerConfig = MessageInitShape<typeof ContainerConfigSchema>;
type SandboxConfig = MessageInitShape<typeof PodSandboxConfigSchema>;
const enc = new TextEncoder();

function rejectsWith(code: grpcStatus, pattern: RegExp) {
  return (err: CallError) => {
    assert.equal(err.code, code, `expected ${grpcStatus[code]}, got ${grpcStatus[err.code]}: ${err.details}`);
    assert.match(err.details, pattern);
    return true;
  };
}

/** A pod for container tests, with its log directory. */
async function startPod(cri: CriServer, logs: TempDir): Promise<{ id: string; config: SandboxConfig }> {
  const name = uniqueName("cpod");
  const config: SandboxConfig = {
    metadata: { name, namespace: "ctr-test", uid: `${name}-uid`, attempt: 0 },
    hostname: name.slice(0, 60),
    logDirectory: `${logs.path}/${name}`,
    linux: { securityContext: { namespaceOptions: { network: NamespaceMode.POD, pid: NamespaceMode.CONTAINER } } },
  };
  const id = (await cri.client.runtime.runPodSandbox({ config })).podSandboxId;
  return { id, config };
}

/**
 * A Podman service, cri-podman on it, and a pod with a log directory; disposing removes the pod, then the rest. With
 * `embedded`, cri-podman starts the service itself (with its OCI hooks) on a socket in a temp dir.
 */
async function podEnvironment(opts: { embedded?: boolean } = {}) {
  await ensureBusyboxImage();
  // The embedded service's socket goes into a temp dir of ours; an external one is the harness's.
  const podman = opts.embedded ? undefined : await startPodmanService();
  const socketDir = opts.embedded ? await makeTempDir("embedded") : undefined;
  const podmanSocket = podman?.socketPath ?? `${socketDir!.path}/podman.sock`;
  const cri = await startCriServer({ podmanSocket, embeddedPodman: opts.embedded ?? false });
  const logs = await makeTempDir("logs");
  const pod = await startPod(cri, logs);
  return {
    /** The external service (none with `embedded`). */
    podman,
    cri,
    logs,
    pod,
    rt: cri.client.runtime,
    async [Symbol.asyncDispose]() {
      await cri.client.runtime.removePodSandbox({ podSandboxId: pod.id }).catch(() => {});
      await cri[Symbol.asyncDispose]();
      await logs[Symbol.asyncDispose]();
      await podman?.[Symbol.asyncDispose]();
      await socketDir?.[Symbol.asyncDispose]();
    },
  };
}

function shell(name: string, script: string, extra: Partial<ContainerConfig> = {}): ContainerConfig {
  return {
    metadata: { name, attempt: 0 },
    image: { image: BUSYBOX_IMAGE },
    command: ["/bin/sh", "-c"],
    args: [script],
    logPath: `${name}/0.log`,
    ...extra,
  } as ContainerConfig;
}

/** Creates and starts a container, returning its ID. */
async function runContainer(client: CriClient, podId: string, sandboxConfig: SandboxConfig, config: ContainerConfig) {
  const id = (await client.runtime.createContainer({ podSandboxId: podId, config, sandboxConfig })).containerId;
  await client.runtime.startContainer({ containerId: id });
  return id;
}

async function waitExited(client: CriClient, id: string, timeoutMs = 20_000) {
  return await waitFor(async () => {
    const s = (await client.runtime.containerStatus({ containerId: id })).status;
    return s?.state === ContainerState.CONTAINER_EXITED ? s : undefined;
  }, { timeoutMs, what: `container ${id} to exit` });
}

/** The CRI log lines of a file: [stream, tag, text]. */
async function logLines(path: string): Promise<[string, string, string][]> {
  const text = await Deno.readTextFile(path);
  return text.split("\n").filter(Boolean).map((line) => {
    const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{1,9}(?:Z|[+-]\d\d:\d\d)) (stdout|stderr) ([PF]) ([^\n]*)$/.exec(
      line,
    );
    assert.ok(m, `not a CRI log line: ${JSON.stringify(line)}`);
    return [m[2]!, m[3]!, m[4]!];
  });
}

/** An image with an entrypoint, a cmd and an ENV, built once per run. */
async function buildEntrypointImage(): Promise<string> {
  await ensureBusyboxImage();
  const ref = `localhost/cri-podman-test/entrypoint:${uniqueName("t")}`;
  await using dir = await makeTempDir("build");
  await Deno.writeTextFile(
    `${dir.path}/Containerfile`,
    `FROM ${BUSYBOX_IMAGE}\nENV FROM_IMAGE=yes A=image\nENTRYPOINT ["/bin/echo", "ep"]\nCMD ["c1", "c2"]\n`,
  );
  await run("podman", ["build", "--quiet", "--pull=never", "-t", ref, dir.path]);
  return ref;
}

Deno.test("container lifecycle: create, start, status, logs, stop, remove", async (t) => {
  await using env = await podEnvironment();
  const { cri, rt, pod } = env;
  // The command runs until the test creates /tmp/go (through ExecSync), so RUNNING can be required, not hoped for.
  const script =
    "echo to-stdout; echo to-stderr >&2; printf no-newline; until [ -e /tmp/go ]; do sleep 0.05; done; exit 3";
  const config = shell("life", script, {
    labels: { tier: "web", "io.cri-podman.kind": "not-ours" },
    annotations: { "io.kubernetes.container.hash": "abc", note: "x=y" },
    stopSignal: Signal.SIGINT,
  });
  let id = "";
  await t.step("CreateContainer: CREATED at once in ListContainers (read-your-writes)", async () => {
    id = (await rt.createContainer({ podSandboxId: pod.id, config, sandboxConfig: pod.config })).containerId;
    assert.match(id, /^[0-9a-f]{64}$/);
    const listed = (await rt.listContainers({ filter: { id } })).containers;
    assert.equal(listed.length, 1);
    assert.equal(listed[0]!.state, ContainerState.CONTAINER_CREATED);
    assert.equal(listed[0]!.podSandboxId, pod.id);
    assert.deepEqual(listed[0]!.labels, config.labels);
    assert.deepEqual(listed[0]!.annotations, config.annotations);
    const s = (await rt.containerStatus({ containerId: id })).status!;
    assert.equal(s.state, ContainerState.CONTAINER_CREATED);
    assert.equal(s.startedAt, 0n);
  });

  await t.step("a second CreateContainer with the same metadata is refused, naming the container", async () => {
    await assert.rejects(
      rt.createContainer({ podSandboxId: pod.id, config, sandboxConfig: pod.config }),
      rejectsWith(grpcStatus.ALREADY_EXISTS, new RegExp(id)),
    );
  });

  await t.step("StartContainer: RUNNING at once in ListContainers and ContainerStatus", async () => {
    await rt.startContainer({ containerId: id });
    const listed = (await rt.listContainers({ filter: { id } })).containers;
    assert.equal(listed.length, 1);
    assert.equal(ContainerState[listed[0]!.state], "CONTAINER_RUNNING");
    const s = (await rt.containerStatus({ containerId: id })).status!;
    assert.equal(ContainerState[s.state], "CONTAINER_RUNNING");
    assert.ok(s.startedAt > 0n);
  });

  await t.step(
    "ContainerStatus after exit: EXITED, code 3, reason Error, times, image, labels, log path",
    async () => {
      const go = await rt.execSync({ containerId: id, cmd: ["touch", "/tmp/go"], timeout: 10n });
      assert.equal(go.exitCode, 0, new TextDecoder().decode(go.stderr));
      const s = await waitExited(cri.client, id);
      assert.equal(s.exitCode, 3);
      assert.equal(s.reason, "Error");
      assert.ok(s.createdAt > 0n && s.startedAt >= s.createdAt && s.finishedAt >= s.startedAt);
      assert.equal(s.image?.image, BUSYBOX_IMAGE);
      const imageId = (await run("podman", ["image", "inspect", "--format", "{{.Id}}", BUSYBOX_IMAGE])).trim();
      assert.equal(s.imageRef, `sha256:${imageId}`);
      assert.equal(s.imageId, s.imageRef);
      assert.deepEqual(s.labels, config.labels);
      assert.deepEqual(s.annotations, config.annotations);
      assert.equal(s.logPath, `${pod.config.logDirectory}/life/0.log`);
      assert.equal(s.stopSignal, Signal.SIGINT);
      assert.equal(s.user?.linux?.uid, 0n);
      // The exit was nobody's call: the cache learns it from Podman's "died" event, within milliseconds.
      await waitFor(async () => {
        const listed = (await rt.listContainers({
          filter: { podSandboxId: pod.id, state: { state: ContainerState.CONTAINER_EXITED } },
        })).containers;
        return listed.length === 1 && listed[0]!.id === id;
      }, { timeoutMs: 1_000, what: "ListContainers to show the exit" });
    },
  );

  await t.step("the log file is in the CRI format with streams and partial lines apart", async () => {
    const lines = await logLines(`${pod.config.logDirectory}/life/0.log`);
    assert.deepEqual(lines.filter(([s]) => s === "stdout").map(([, tag, text]) => `${tag} ${text}`), [
      "F to-stdout",
      "P no-newline",
    ]);
    assert.deepEqual(lines.filter(([s]) => s === "stderr").map(([, tag, text]) => `${tag} ${text}`), ["F to-stderr"]);
  });

  await t.step(
    "RemoveContainer removes it; again is fine; status is NOT_FOUND; stop of a gone one is fine",
    async () => {
      await rt.removeContainer({ containerId: id });
      assert.deepEqual((await rt.listContainers({ filter: { id } })).containers, []);
      await rt.removeContainer({ containerId: id });
      await rt.stopContainer({ containerId: id, timeout: 1n });
      await assert.rejects(rt.containerStatus({ containerId: id }), rejectsWith(grpcStatus.NOT_FOUND, /not found/));
    },
  );

  await t.step("a container that exits 0 has reason Completed", async () => {
    const ok = await runContainer(cri.client, pod.id, pod.config, shell("ok", "true"));
    const s = await waitExited(cri.client, ok);
    assert.equal(s.exitCode, 0);
    assert.equal(s.reason, "Completed");
    assert.equal(s.stopSignal, Signal.SIGTERM, "no configured stop signal: the effective one is SIGTERM");
    await rt.removeContainer({ containerId: ok });
  });

  await t.step("StopContainer honours the timeout: a process ignoring SIGTERM is killed after it", async () => {
    const stubborn = await runContainer(
      cri.client,
      pod.id,
      pod.config,
      shell("stubborn", "trap '' TERM; echo ready; while true; do sleep 0.1; done"),
    );
    await waitFor(async () => (await Deno.readTextFile(`${pod.config.logDirectory}/stubborn/0.log`)).includes("ready"));
    const t0 = performance.now();
    await rt.stopContainer({ containerId: stubborn, timeout: 2n });
    const elapsed = performance.now() - t0;
    assert.ok(elapsed >= 1_900 && elapsed < 9_000, `stop took ${elapsed} ms`);
    const s = (await rt.containerStatus({ containerId: stubborn })).status!;
    assert.equal(s.state, ContainerState.CONTAINER_EXITED);
    assert.equal(s.exitCode, 137);
    await rt.stopContainer({ containerId: stubborn, timeout: 2n }); // idempotent
    await rt.removeContainer({ containerId: stubborn });
  });

  await t.step("RemoveContainer removes a running container forcibly", async () => {
    const running = await runContainer(cri.client, pod.id, pod.config, shell("running", "sleep 300"));
    const t0 = performance.now();
    await rt.removeContainer({ containerId: running });
    assert.ok(performance.now() - t0 < 5_000);
    assert.deepEqual((await rt.listContainers({ filter: { id: running } })).containers, []);
  });
});

Deno.test("command, args and env follow Kubernetes' rules over the image's", async (t) => {
  const image = await buildEntrypointImage();
  await using podman = await startPodmanService();
  await using cri = await startCriServer({ podmanSocket: podman.socketPath });
  await using logs = await makeTempDir("logs");
  const rt = cri.client.runtime;
  const pod = await startPod(cri, logs);
  const output = async (name: string, extra: Partial<ContainerConfig>) => {
    const id = await runContainer(cri.client, pod.id, pod.config, {
      metadata: { name, attempt: 0 },
      image: { image },
      logPath: `${name}.log`,
      ...extra,
    } as ContainerConfig);
    await waitExited(cri.client, id);
    return (await logLines(`${pod.config.logDirectory}/${name}.log`)).map(([, , text]) => text).join("\n");
  };
  try {
    const cases: [string, Partial<ContainerConfig>, string][] = [
      ["neither: image entrypoint + cmd", {}, "ep c1 c2"],
      ["args only: image entrypoint + args", { args: ["a1", "a2"] }, "ep a1 a2"],
      ["command only: the command, no image cmd", { command: ["/bin/echo", "cmd"] }, "cmd"],
      ["command and args", { command: ["/bin/echo", "cmd"], args: ["a1"] }, "cmd a1"],
    ];
    let n = 0;
    for (const [what, extra, want] of cases) {
      await t.step(what, async () => {
        assert.equal(await output(`argv${n++}`, extra), want);
      });
    }
    await t.step(
      "env: image env, then CRI envs in order (later duplicates win), HOSTNAME, nothing injected",
      async () => {
        const text = await output("env", {
          command: ["/bin/sh", "-c", "env | sort"],
          envs: [
            { key: "A", value: enc.encode("first") },
            { key: "B", value: enc.encode("with = and spaces") },
            { key: "A", value: enc.encode("second") },
          ],
        });
        const env = Object.fromEntries(
          text.split("\n").map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
        );
        assert.equal(env["A"], "second");
        assert.equal(env["B"], "with = and spaces");
        assert.equal(env["FROM_IMAGE"], "yes");
        assert.equal(env["HOSTNAME"], pod.config.hostname);
        assert.ok(env["PATH"]);
        for (const injected of ["TERM", "container", "HTTP_PROXY", "http_proxy", "HTTPS_PROXY"]) {
          assert.equal(env[injected], undefined, `${injected} must not be injected`);
        }
      },
    );
    await t.step("working dir", async () => {
      assert.equal(await output("wd", { command: ["/bin/pwd"], workingDir: "/tmp" }), "/tmp");
    });
  } finally {
    await rt.removePodSandbox({ podSandboxId: pod.id });
    await run("podman", ["rmi", "--force", image]).catch(() => {});
  }
});

Deno.test("mounts, user and security context are honoured", async (t) => {
  await using env = await podEnvironment();
  const { cri, rt, pod } = env;
  await using data = await makeTempDir("data");
  await Deno.writeTextFile(`${data.path}/hello.txt`, "from the host\n");
  await Deno.chmod(data.path, 0o777);
  const outputOf = async (name: string, script: string, extra: Partial<ContainerConfig> = {}) => {
    const id = await runContainer(cri.client, pod.id, pod.config, shell(name, script, extra));
    const s = await waitExited(cri.client, id);
    const text = (await logLines(`${pod.config.logDirectory}/${name}/0.log`)).map(([, , x]) => x).join("\n");
    return { text, status: s };
  };
  await t.step("a read-only bind mount shows host files and refuses writes", async () => {
    const { text } = await outputOf(
      "ro",
      "cat /data/hello.txt; touch /data/new 2>/dev/null && echo wrote || echo refused",
      {
        mounts: [{ containerPath: "/data", hostPath: data.path, readonly: true }],
      },
    );
    assert.equal(text, "from the host\nrefused");
  });
  await t.step("a read-write bind mount writes through to the host", async () => {
    await outputOf("rw", "echo hi > /data/from-container", {
      mounts: [{ containerPath: "/data", hostPath: data.path, readonly: false }],
    });
    assert.equal(await Deno.readTextFile(`${data.path}/from-container`), "hi\n");
  });
  await t.step("mount propagation reaches the OCI spec (rprivate, rslave, rshared)", async () => {
    const id = (await rt.createContainer({
      podSandboxId: pod.id,
      config: shell("prop", "true", {
        mounts: [
          { containerPath: "/p0", hostPath: data.path, propagation: MountPropagation.PROPAGATION_PRIVATE },
          { containerPath: "/p1", hostPath: data.path, propagation: MountPropagation.PROPAGATION_HOST_TO_CONTAINER },
          { containerPath: "/p2", hostPath: data.path, propagation: MountPropagation.PROPAGATION_BIDIRECTIONAL },
        ],
      }),
      sandboxConfig: pod.config,
    })).containerId;
    const binds: string[] = JSON.parse(
      await run("podman", ["inspect", "--format", "{{json .HostConfig.Binds}}", id]),
    );
    assert.ok(binds.some((b) => b.startsWith(`${data.path}:/p0:`) && b.includes("rprivate")), binds.join(" "));
    assert.ok(binds.some((b) => b.startsWith(`${data.path}:/p1:`) && b.includes("rslave")), binds.join(" "));
    assert.ok(binds.some((b) => b.startsWith(`${data.path}:/p2:`) && b.includes("rshared")), binds.join(" "));
    const status = (await rt.containerStatus({ containerId: id })).status!;
    assert.deepEqual(status.mounts.map((m) => m.propagation), [0, 1, 2]);
    await rt.removeContainer({ containerId: id });
  });
  await t.step(
    "privileged (rootless meaning): every capability of the user namespace, no seccomp filter",
    async () => {
      const { text } = await outputOf("priv", "grep -E 'CapEff|Seccomp:' /proc/self/status", {
        linux: { securityContext: { privileged: true } },
      });
      assert.doesNotMatch(text, /CapEff:\s+0000000000000000/);
      assert.match(text, /CapEff:\s+0000003fffffffff|CapEff:\s+000001ffffffffff|CapEff:\s+00000[0-9a-f]ffffffffff/);
      assert.match(text, /Seccomp:\s+0/);
    },
  );
  await t.step("run_as_user / run_as_group / supplemental groups; status reports the user", async () => {
    const { text, status } = await outputOf("user", "id -u; id -g; id -G", {
      linux: {
        securityContext: { runAsUser: { value: 1234n }, runAsGroup: { value: 2345n }, supplementalGroups: [3456n] },
      },
    });
    const [uid, gid, groups] = text.split("\n");
    assert.equal(uid, "1234");
    assert.equal(gid, "2345");
    assert.ok(groups!.split(" ").includes("3456"), `groups: ${groups}`);
    assert.equal(status.user?.linux?.uid, 1234n);
    assert.equal(status.user?.linux?.gid, 2345n);
  });
  await t.step("readonly rootfs refuses writes", async () => {
    const { text } = await outputOf("rofs", "touch /x 2>/dev/null && echo wrote || echo refused", {
      linux: { securityContext: { readonlyRootfs: true } },
    });
    assert.equal(text, "refused");
  });
  await t.step("dropping ALL capabilities leaves none effective; adding one gives it", async () => {
    const none = await outputOf("capdrop", "grep CapEff /proc/self/status", {
      linux: {
        securityContext: {
          capabilities: { dropCapabilities: ["ALL"], addCapabilities: [], addAmbientCapabilities: [] },
        },
      },
    });
    assert.match(none.text, /CapEff:\s+0000000000000000/);
    const one = await outputOf("capadd", "grep CapEff /proc/self/status", {
      linux: {
        securityContext: {
          capabilities: { dropCapabilities: ["ALL"], addCapabilities: ["CAP_CHOWN"], addAmbientCapabilities: [] },
        },
      },
    });
    assert.match(one.text, /CapEff:\s+0000000000000001/);
  });
  await t.step("no_new_privs is set", async () => {
    const { text } = await outputOf("nnp", "grep NoNewPrivs /proc/self/status", {
      linux: { securityContext: { noNewPrivs: true } },
    });
    assert.match(text, /NoNewPrivs:\s+1/);
  });
  await t.step("seccomp Unconfined turns the filter off; RuntimeDefault keeps it", async () => {
    const off = await outputOf("secoff", "grep Seccomp: /proc/self/status", {
      linux: { securityContext: { seccomp: { profileType: SecurityProfile_ProfileType.Unconfined } } },
    });
    assert.match(off.text, /Seccomp:\s+0/);
    const on = await outputOf("secon", "grep Seccomp: /proc/self/status", {
      linux: { securityContext: { seccomp: { profileType: SecurityProfile_ProfileType.RuntimeDefault } } },
    });
    assert.match(on.text, /Seccomp:\s+2/);
  });
  await t.step("a masked path reads empty; without it the file has content", async () => {
    const masked = await outputOf("masked", "wc -c < /proc/version", {
      linux: { securityContext: { maskedPaths: ["/proc/version"], readonlyPaths: ["/proc/sys"] } },
    });
    assert.equal(masked.text.trim(), "0");
    const plain = await outputOf("unmasked", "wc -c < /proc/version", {
      linux: { securityContext: { maskedPaths: ["/proc/kcore"], readonlyPaths: ["/proc/sys"] } },
    });
    assert.ok(Number(plain.text.trim()) > 0);
  });
  await t.step("custom readonly_paths need the embedded service, which this Podman is not", async () => {
    await assert.rejects(
      runContainer(
        cri.client,
        pod.id,
        pod.config,
        shell("rotmp", "true", {
          linux: { securityContext: { readonlyPaths: ["/proc/sys", "/tmp"] } },
        }),
      ),
      rejectsWith(grpcStatus.FAILED_PRECONDITION, /readonly_paths \["\/tmp"\].*need the embedded Podman service/),
    );
  });
  await t.step("oom_score_adj is clamped to what this user may set", async () => {
    const own = Number((await Deno.readTextFile("/proc/self/oom_score_adj")).trim());
    const { text } = await outputOf("oom", "cat /proc/self/oom_score_adj", {
      linux: { resources: { oomScoreAdj: -900n } },
    });
    assert.equal(Number(text), Math.max(-900, own));
    const high = await outputOf("oomhi", "cat /proc/self/oom_score_adj", {
      linux: { resources: { oomScoreAdj: 999n } },
    });
    assert.equal(Number(high.text), 999);
  });
  await t.step("resources are recorded and reported even where cgroups cannot apply them", async () => {
    const { status } = await outputOf("res", "true", {
      linux: { resources: { cpuShares: 256n, memoryLimitInBytes: 64n << 20n } },
    });
    assert.equal(status.resources?.linux?.cpuShares, 256n);
    assert.equal(status.resources?.linux?.memoryLimitInBytes, 64n << 20n);
  });
});

Deno.test("custom readonly_paths are applied by the embedded Podman's precreate hook, with the masked paths", async (t) => {
  await using env = await podEnvironment({ embedded: true });
  const { cri, rt, pod } = env;
  const outputOf = async (name: string, script: string, extra: Partial<ContainerConfig> = {}) => {
    const id = await runContainer(cri.client, pod.id, pod.config, shell(name, script, extra));
    await waitExited(cri.client, id);
    return (await logLines(`${pod.config.logDirectory}/${name}/0.log`)).map(([, , x]) => x).join("\n");
  };
  const DEFAULT_RO = ["/proc/asound", "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"];
  const DEFAULT_MASKED = ["/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/timer_list", "/sys/firmware"];
  const writeTmp = "touch /tmp/x 2>&1 && echo wrote || echo refused";
  await t.step(
    "readonly_paths [/tmp] (critest's case) refuses writes to /tmp; without it /tmp is writable",
    async () => {
      const hooked = await outputOf("rotmp", writeTmp, { linux: { securityContext: { readonlyPaths: ["/tmp"] } } });
      assert.match(hooked, /Read-only file system/);
      assert.match(hooked, /refused$/);
      const plain = await outputOf("rwtmp", writeTmp, {
        linux: { securityContext: { readonlyPaths: DEFAULT_RO, maskedPaths: DEFAULT_MASKED } },
      });
      assert.equal(plain, "wrote");
    },
  );
  await t.step(
    "in a hooked container a custom masked path stays masked, and the default read-only paths stay",
    async () => {
      const text = await outputOf(
        "romask",
        `wc -c < /proc/version; ${writeTmp}; awk '$2 == "/proc/sys" { split($4, o, ","); print "proc/sys " o[1] }' /proc/mounts`,
        {
          linux: {
            securityContext: {
              readonlyPaths: [...DEFAULT_RO, "/tmp"],
              maskedPaths: [...DEFAULT_MASKED, "/proc/version"],
            },
          },
        },
      );
      const [size, ...rest] = text.split("\n");
      assert.equal(size?.trim(), "0", "/proc/version is masked");
      assert.match(rest.join("\n"), /Read-only file system[\s\S]*refused/);
      assert.match(rest.join("\n"), /^proc\/sys ro$/m);
    },
  );
  await t.step("the hook's cost at StartContainer (reported, not asserted)", async () => {
    const samples: Record<"hooked" | "plain", number[]> = { hooked: [], plain: [] };
    for (let i = 0; i < 5; i++) {
      for (const kind of ["plain", "hooked"] as const) {
        const readonlyPaths = kind === "hooked" ? [...DEFAULT_RO, "/tmp"] : DEFAULT_RO;
        const config = shell(`lat-${kind}-${i}`, "true", {
          linux: { securityContext: { readonlyPaths, maskedPaths: DEFAULT_MASKED } },
        });
        const { containerId } = await rt.createContainer({ podSandboxId: pod.id, config, sandboxConfig: pod.config });
        const t0 = performance.now();
        await rt.startContainer({ containerId });
        samples[kind].push(performance.now() - t0);
      }
    }
    const p50 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!.toFixed(0);
    console.log(
      `StartContainer p50: ${p50(samples.plain)} ms without the hook, ${p50(samples.hooked)} ms with it ` +
        `(${samples.plain.length} runs each)`,
    );
  });
});

Deno.test("bad container input: a clear error naming the field, and nothing left behind", async (t) => {
  await using env = await podEnvironment();
  const { rt, pod } = env;
  const count = async () => (await rt.listContainers({ filter: { podSandboxId: pod.id } })).containers.length;
  const podmanCount = async () =>
    (await run("podman", ["ps", "-a", "--filter", `pod=${pod.id}`, "--format", "{{.ID}}"])).split("\n").filter(Boolean)
      .length;
  const baseline = await podmanCount(); // the infra container
  const cases: [string, ContainerConfig | undefined, grpcStatus, RegExp][] = [
    ["no config", undefined, grpcStatus.INVALID_ARGUMENT, /config must be set/],
    ["no metadata", { image: { image: BUSYBOX_IMAGE } }, grpcStatus.INVALID_ARGUMENT, /config\.metadata/],
    ["no image", { metadata: { name: "noimg", attempt: 0 } }, grpcStatus.INVALID_ARGUMENT, /config\.image\.image/],
    [
      "an image that is not stored",
      shell("missing", "true", { image: { image: `localhost/cri-podman-test/absent-${uniqueName("x")}:v1` } }),
      grpcStatus.NOT_FOUND,
      /config\.image\.image.*not found|not found.*config\.image\.image/,
    ],
    [
      "a log path escaping the log directory",
      shell("escape", "true", { logPath: "../../escape.log" }),
      grpcStatus.INVALID_ARGUMENT,
      /config\.log_path/,
    ],
    [
      "a mount of a path that does not exist",
      shell("nomount", "true", { mounts: [{ containerPath: "/x", hostPath: `/nonexistent/${uniqueName("m")}` }] }),
      grpcStatus.INVALID_ARGUMENT,
      /config\.mounts\[0\]\.host_path/,
    ],
    [
      "an unknown mount propagation",
      shell("badprop", "true", {
        mounts: [{ containerPath: "/x", hostPath: "/tmp", propagation: 42 as MountPropagation }],
      }),
      grpcStatus.INVALID_ARGUMENT,
      /config\.mounts\[0\]\.propagation 42 is not a MountPropagation value/,
    ],
    [
      "an unreadable seccomp profile",
      shell("noseccomp", "true", {
        linux: {
          securityContext: {
            seccomp: {
              profileType: SecurityProfile_ProfileType.Localhost,
              localhostRef: "/nonexistent/profile.json",
            },
          },
        },
      }),
      grpcStatus.INVALID_ARGUMENT,
      /seccomp.*profile\.json/,
    ],
    [
      "a deprecated seccomp_profile_path without localhost/",
      shell("oldseccomp", "true", {
        linux: { securityContext: { seccompProfilePath: "/var/lib/kubelet/seccomp/audit.json" } },
      }),
      grpcStatus.INVALID_ARGUMENT,
      /seccomp_profile_path "\/var\/lib\/kubelet\/seccomp\/audit\.json"/,
    ],
  ];
  // Where the kernel has no AppArmor (Podman then reports it disabled), a profile other than unconfined is refused.
  const apparmorOn = await Deno.readTextFile("/sys/module/apparmor/parameters/enabled").then((t) => t.trim() === "Y")
    .catch(() => false);
  if (!apparmorOn) {
    cases.push([
      "an AppArmor profile on a host without AppArmor",
      shell("apparmor", "true", { linux: { securityContext: { apparmorProfile: "localhost/k8s-deny" } } }),
      grpcStatus.FAILED_PRECONDITION,
      /AppArmor is not enabled/,
    ]);
  }
  for (const [what, config, code, pattern] of cases) {
    await t.step(`${what} → ${grpcStatus[code]}`, async () => {
      await assert.rejects(
        rt.createContainer({ podSandboxId: pod.id, ...(config ? { config } : {}), sandboxConfig: pod.config }),
        rejectsWith(code, pattern),
      );
      assert.equal(await count(), 0);
      assert.equal(await podmanCount(), baseline);
    });
  }
  await t.step("an unknown sandbox → NOT_FOUND", async () => {
    await assert.rejects(
      rt.createContainer({ podSandboxId: "e".repeat(64), config: shell("orphan", "true") }),
      rejectsWith(grpcStatus.NOT_FOUND, /sandbox/i),
    );
  });
});

Deno.test(
  "List cache: changes made with the Podman CLI show up within a second; restart keeps containers",
  async (t) => {
    await ensureBusyboxImage();
    await using podman = await startPodmanService();
    await using logs = await makeTempDir("logs");
    const first = await startCriServer({ podmanSocket: podman.socketPath });
    const pod = await startPod(first, logs);
    try {
      const id = await runContainer(first.client, pod.id, pod.config, shell("cli", "sleep 300"));
      await waitFor(async () =>
        (await first.client.runtime.listContainers({ filter: { id } })).containers[0]?.state ===
          ContainerState.CONTAINER_RUNNING
      );

      await t.step("podman stop behind our back: ListContainers shows EXITED within 1 s", async () => {
        await run("podman", ["stop", "--time", "0", id]);
        const t0 = performance.now();
        await waitFor(async () => {
          const c = (await first.client.runtime.listContainers({ filter: { id } })).containers[0];
          return c?.state === ContainerState.CONTAINER_EXITED;
        }, { timeoutMs: 1_000, intervalMs: 10, what: "the cache to see the CLI's stop" });
        console.log(`cache saw the CLI stop after ${(performance.now() - t0).toFixed(0)} ms`);
      });

      await t.step("podman rm behind our back: gone from ListContainers within 1 s", async () => {
        await run("podman", ["rm", "--force", id]);
        await waitFor(
          async () => (await first.client.runtime.listContainers({ filter: { id } })).containers.length === 0,
          {
            timeoutMs: 1_000,
            intervalMs: 10,
            what: "the cache to see the CLI's rm",
          },
        );
      });

      await t.step("after SIGKILL, a new cri-podman lists the same containers", async () => {
        const kept = await runContainer(
          first.client,
          pod.id,
          pod.config,
          shell("kept", "sleep 300", { labels: { k: "v" } }),
        );
        const before = (await first.client.runtime.listContainers({ filter: { podSandboxId: pod.id } })).containers;
        first.process.kill("SIGKILL");
        await first.process.exited;
        await using second = await startCriServer({
          podmanSocket: podman.socketPath,
          env: { CRI_PODMAN_PODS_NETWORK: first.network, CRI_PODMAN_PODS_DEFAULT_SUBNET: first.subnet },
        });
        const after = (await second.client.runtime.listContainers({ filter: { podSandboxId: pod.id } })).containers;
        assert.deepEqual(after, before);
        assert.ok(after.some((c) => c.id === kept && c.labels["k"] === "v"));
        await second.client.runtime.removePodSandbox({ podSandboxId: pod.id });
      });
    } finally {
      await first[Symbol.asyncDispose]();
      await run("podman", ["pod", "rm", "--force", pod.id]).catch(() => {});
    }
  },
);

Deno.test(
  "UpdateContainerResources applies limits where cgroups are delegated, else FAILED_PRECONDITION",
  async () => {
    await using env = await podEnvironment();
    const { podman, cri, rt, pod } = env;
    const id = await runContainer(cri.client, pod.id, pod.config, shell("upd", "sleep 300"));
    const info = JSON.parse((await podman!.request("GET", "/v4.0.0/libpod/info")).body);
    const controllers: string[] = info.host.cgroupControllers ?? [];
    const call = rt.updateContainerResources({ containerId: id, linux: { memoryLimitInBytes: 128n << 20n } });
    if (controllers.includes("memory") && controllers.includes("cpu")) {
      await call;
    } else {
      await assert.rejects(call, rejectsWith(grpcStatus.FAILED_PRECONDITION, /no cgroup controllers are delegated/));
    }
    await assert.rejects(
      rt.updateContainerResources({ containerId: "d".repeat(64), linux: {} }),
      rejectsWith(grpcStatus.NOT_FOUND, /not found/),
    );
  },
);

Deno.test(
  "ExecSync: output apart, exit codes, the 16 MiB cap, and a timeout that leaves no process",
  async (t) => {
    await using env = await podEnvironment();
    const { cri, rt, pod } = env;
    const dec = new TextDecoder();
    const id = await runContainer(cri.client, pod.id, pod.config, shell("exec", "sleep 300"));
    await t.step("stdout and stderr are kept apart; the exit code is returned", async () => {
      const r = await rt.execSync({ containerId: id, cmd: ["/bin/sh", "-c", "echo out; echo err >&2; exit 7"] });
      assert.equal(dec.decode(r.stdout), "out\n");
      assert.equal(dec.decode(r.stderr), "err\n");
      assert.equal(r.exitCode, 7);
      const ok = await rt.execSync({ containerId: id, cmd: ["true"], timeout: 5n });
      assert.equal(ok.exitCode, 0);
    });
    await t.step("each output is capped at 16 MiB", async () => {
      const r = await rt.execSync({ containerId: id, cmd: ["/bin/sh", "-c", "head -c 17825792 /dev/zero"] }, {
        timeoutMs: 120_000,
      });
      assert.equal(r.stdout.length, 16 * 1024 * 1024);
      assert.equal(r.exitCode, 0);
    });
    await t.step("a timeout answers DEADLINE_EXCEEDED and kills the command with its children", async () => {
      const t0 = performance.now();
      await assert.rejects(
        rt.execSync({ containerId: id, cmd: ["/bin/sh", "-c", "sleep 1234 & sleep 1235"], timeout: 1n }),
        rejectsWith(grpcStatus.DEADLINE_EXCEEDED, /timed out after 1s/),
      );
      assert.ok(performance.now() - t0 < 5_000);
      const ps = dec.decode((await rt.execSync({ containerId: id, cmd: ["ps", "-o", "args"] })).stdout);
      assert.doesNotMatch(ps, /sleep 123[45]/, ps);
    });
    await t.step("an empty cmd is INVALID_ARGUMENT; an unknown container NOT_FOUND", async () => {
      await assert.rejects(
        rt.execSync({ containerId: id, cmd: [] }),
        rejectsWith(grpcStatus.INVALID_ARGUMENT, /cmd/),
      );
      await assert.rejects(
        rt.execSync({ containerId: "c".repeat(64), cmd: ["true"] }),
        rejectsWith(grpcStatus.NOT_FOUND, /not found/),
      );
    });
    await t.step("a stopped container is FAILED_PRECONDITION", async () => {
      await rt.stopContainer({ containerId: id, timeout: 0n });
      await assert.rejects(
        rt.execSync({ containerId: id, cmd: ["true"] }),
        rejectsWith(grpcStatus.FAILED_PRECONDITION, /running/),
      );
    });
  },
);

Deno.test("ReopenContainerLog: kubelet's rotation round trip loses no line", async () => {
  await using env = await podEnvironment();
  const { cri, rt, pod } = env;
  const id = await runContainer(
    cri.client,
    pod.id,
    pod.config,
    shell("ticker", "i=0; while true; do i=$((i+1)); echo tick $i; sleep 0.05; done"),
  );
  const path = `${pod.config.logDirectory}/ticker/0.log`;
  await waitFor(async () => (await Deno.readTextFile(path)).includes("tick 5"));
  await Deno.rename(path, `${path}.20261125-000000`);
  await rt.reopenContainerLog({ containerId: id });
  await waitFor(async () => (await logLines(path).catch(() => [])).length >= 5, { what: "lines in the new file" });
  await rt.stopContainer({ containerId: id, timeout: 0n });
  const ticks = (lines: [string, string, string][]) => lines.map(([, , text]) => Number(text.split(" ")[1]));
  const old = ticks(await logLines(`${path}.20261125-000000`));
  const fresh = ticks(await logLines(path));
  assert.ok(old.length >= 5 && fresh.length >= 5);
  const all = [...old, ...fresh];
  assert.deepEqual(all, all.map((_, i) => i + 1), "ticks continue across the two files without a gap");
  await assert.rejects(
    rt.reopenContainerLog({ containerId: id }),
    rejectsWith(grpcStatus.FAILED_PRECONDITION, /not running/),
  );
});

Deno.test("devices, tty, run_as_username, stop signal, and a container without a log path", async (t) => {
  await using env = await podEnvironment();
  const { cri, rt, pod } = env;
  const outputOf = async (name: string, script: string, extra: Partial<ContainerConfig> = {}) => {
    const id = await runContainer(cri.client, pod.id, pod.config, shell(name, script, extra));
    await waitExited(cri.client, id);
    return (await logLines(`${pod.config.logDirectory}/${name}/0.log`)).map(([, , x]) => x).join("\n");
  };
  await t.step("a device appears at its container path", async () => {
    const text = await outputOf("dev", "ls -l /dev/mynull | cut -c1", {
      devices: [{ containerPath: "/dev/mynull", hostPath: "/dev/null", permissions: "rw" }],
    });
    assert.equal(text, "c");
  });
  await t.step("tty gives the process a terminal", async () => {
    const text = await outputOf("tty", "[ -t 1 ] && echo terminal || echo no-terminal", { tty: true });
    assert.match(text, /^terminal/);
    const plain = await outputOf("notty", "[ -t 1 ] && echo terminal || echo no-terminal");
    assert.equal(plain, "no-terminal");
  });
  await t.step("run_as_username resolves the name in the image", async () => {
    const text = await outputOf("named", "id -un; id -u", {
      linux: { securityContext: { runAsUsername: "nobody" } },
    });
    assert.equal(text, "nobody\n65534");
  });
  await t.step("StopContainer sends the configured stop signal", async () => {
    const id = await runContainer(
      cri.client,
      pod.id,
      pod.config,
      shell("sigint", "trap 'echo got-int; exit 0' INT; echo ready; while true; do sleep 0.1; done", {
        stopSignal: Signal.SIGINT,
      }),
    );
    const path = `${pod.config.logDirectory}/sigint/0.log`;
    await waitFor(async () => (await Deno.readTextFile(path)).includes("ready"));
    const t0 = performance.now();
    await rt.stopContainer({ containerId: id, timeout: 20n });
    assert.ok(performance.now() - t0 < 10_000, "stopped by the signal, not by the timeout");
    const s = (await rt.containerStatus({ containerId: id })).status!;
    assert.equal(s.exitCode, 0);
    assert.match(await Deno.readTextFile(path), /got-int/);
  });
  await t.step("a container without log_path runs and reports no log path", async () => {
    const id = await runContainer(cri.client, pod.id, pod.config, {
      metadata: { name: "nolog", attempt: 0 },
      image: { image: BUSYBOX_IMAGE },
      command: ["/bin/sh", "-c", "echo fine"],
    } as ContainerConfig);
    const s = await waitExited(cri.client, id);
    assert.equal(s.exitCode, 0);
    assert.equal(s.logPath, "");
  });
});

Deno.test(
  "List cache is rebuilt when the event stream comes back: changes made while it was down show",
  async () => {
    await ensureBusyboxImage();
    await using podman = await startPodmanService();
    await using cri = await startCriServer({ podmanSocket: podman.socketPath });
    await using logs = await makeTempDir("logs");
    const rt = cri.client.runtime;
    const pod = await startPod(cri, logs);
    try {
      const id = await runContainer(cri.client, pod.id, pod.config, shell("gap", "sleep 300"));
      await waitFor(async () =>
        (await rt.listContainers({ filter: { id } })).containers[0]?.state === ContainerState.CONTAINER_RUNNING
      );
      podman.kill("SIGKILL");
      await podman.exited();
      // While no service streams events, the CLI stops the container: no event will ever tell the cache.
      await run("podman", ["stop", "--time", "0", id]);
      await podman.restart();
      await waitFor(async () => {
        const c = (await rt.listContainers({ filter: { id } }).catch(() => undefined))?.containers[0];
        return c?.state === ContainerState.CONTAINER_EXITED;
      }, { timeoutMs: 10_000, what: "ListContainers to show the stop made while the stream was down" });
      assert.match(cri.log(), /podman event stream lost/);
    } finally {
      await rt.removePodSandbox({ podSandboxId: pod.id }).catch(() => {});
      await run("podman", ["pod", "rm", "--force", pod.id]).catch(() => {});
    }
  },
);

Deno.test("IPC NODE shares the host's IPC namespace, or says why not (no /dev/mqueue)", async () => {
  await using env = await podEnvironment();
  const { cri, rt, pod } = env;
  const config = shell("hostipc", "readlink /proc/self/ns/ipc", {
    linux: { securityContext: { namespaceOptions: { ipc: NamespaceMode.NODE, pid: NamespaceMode.CONTAINER } } },
  });
  const hasMqueue = await Deno.stat("/dev/mqueue").then(() => true, () => false);
  if (!hasMqueue) {
    await assert.rejects(
      rt.createContainer({ podSandboxId: pod.id, config, sandboxConfig: pod.config }),
      rejectsWith(grpcStatus.FAILED_PRECONDITION, /ipc NODE.*\/dev\/mqueue/),
    );
    return;
  }
  const id = await runContainer(cri.client, pod.id, pod.config, config);
  await waitExited(cri.client, id);
  const text = (await logLines(`${pod.config.logDirectory}/hostipc/0.log`)).map(([, , x]) => x).join("");
  assert.equal(text, await Deno.readLink("/proc/self/ns/ipc"));
});

Deno.test(
  "host-PID containers: children they forked do not outlive Stop, Remove or StopPodSandbox",
  async (t) => {
    await ensureBusyboxImage();
    await using podman = await startPodmanService();
    await using cri = await startCriServer({ podmanSocket: podman.socketPath });
    await using logs = await makeTempDir("logs");
    const rt = cri.client.runtime;
    const name = uniqueName("hostpid");
    const sandboxConfig: SandboxConfig = {
      metadata: { name, namespace: "ctr-test", uid: `${name}-uid`, attempt: 0 },
      hostname: "hostpid",
      logDirectory: `${logs.path}/${name}`,
      linux: { securityContext: { namespaceOptions: { network: NamespaceMode.POD, pid: NamespaceMode.NODE } } },
    };
    const podId = (await rt.runPodSandbox({ config: sandboxConfig })).podSandboxId;
    /** PIDs of host processes whose command line is exactly `sleep <marker>`. */
    const sleepers = (marker: string) =>
      [...Deno.readDirSync("/proc")].filter((e) => /^\d+$/.test(e.name)).filter((e) => {
        try {
          return Deno.readTextFileSync(`/proc/${e.name}/cmdline`).split("\0").join(" ").trim() === `sleep ${marker}`;
        } catch {
          return false;
        }
      }).map((e) => Number(e.name));
    const start = async (cname: string, marker: string) => {
      const id = await runContainer(
        cri.client,
        podId,
        sandboxConfig,
        shell(cname, `sleep ${marker} & sleep ${marker} & wait`, {
          linux: { securityContext: { namespaceOptions: { pid: NamespaceMode.NODE, network: NamespaceMode.POD } } },
        }),
      );
      await waitFor(() => sleepers(marker).length === 2, { what: `two sleep ${marker} processes` });
      return id;
    };
    try {
      await t.step("StopContainer", async () => {
        const marker = String(200_000 + Math.floor(Math.random() * 100_000));
        const id = await start("stop", marker);
        await rt.stopContainer({ containerId: id, timeout: 0n });
        await waitFor(() => sleepers(marker).length === 0, { timeoutMs: 5_000, what: "the children to be gone" });
      });
      await t.step("RemoveContainer of a running container", async () => {
        const marker = String(300_000 + Math.floor(Math.random() * 100_000));
        const id = await start("rm", marker);
        await rt.removeContainer({ containerId: id });
        await waitFor(() => sleepers(marker).length === 0, { timeoutMs: 5_000, what: "the children to be gone" });
      });
      await t.step("StopPodSandbox", async () => {
        const marker = String(400_000 + Math.floor(Math.random() * 100_000));
        await start("pod", marker);
        await rt.stopPodSandbox({ podSandboxId: podId });
        await waitFor(() => sleepers(marker).length === 0, { timeoutMs: 5_000, what: "the children to be gone" });
      });
    } finally {
      await rt.removePodSandbox({ podSandboxId: podId });
    }
  },
);
