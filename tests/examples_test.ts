/**
 * Integration: every example under examples/ that can be checked here works as its comments say. The pod and
 * container configs (crictl's JSON, proto field names) run on real rootless Podman through cri-podman — with the
 * image replaced by the local busybox (no registry is reachable here), unique names and a free host port; the httpd
 * answers on its host port; crictl.yaml points at the socket cri-podman serves by default; the systemd unit's
 * command line is one cri-podman accepts.
 */
import assert from "node:assert/strict";
import { fromJsonString } from "@bufbuild/protobuf";
import { ContainerConfigSchema, ContainerState, PodSandboxConfigSchema } from "../src/gen/runtime/v1/api_pb.ts";
import { parseCli } from "../src/config/cli.ts";
import { defaultConfig } from "../src/config/schema.ts";
import { BUSYBOX_IMAGE, ensureBusyboxImage } from "./harness/busybox_image.ts";
import { startCriServer } from "./harness/cri_server.ts";
import { startPodmanService } from "./harness/podman_service.ts";
import { freePort, makeTempDir, uniqueName, waitFor } from "./harness/temp.ts";

const EXAMPLES = new URL("../examples/", import.meta.url);
const read = (name: string) => Deno.readTextFile(new URL(name, EXAMPLES));

Deno.test("examples: the pod and container configs run, the httpd answers on its host port", async (t) => {
  await ensureBusyboxImage();
  await using podman = await startPodmanService();
  await using cri = await startCriServer({ podmanSocket: podman.socketPath });
  await using logs = await makeTempDir("examples");
  const rt = cri.client.runtime;

  /** An example pod config as crictl would send it (unknown fields refused), made unique for this run. */
  const podConfig = async (file: string, hostPort?: number) => {
    const config = fromJsonString(PodSandboxConfigSchema, await read(file));
    const name = uniqueName(config.metadata!.name);
    config.metadata = { ...config.metadata!, name, uid: `${name}-uid` };
    config.logDirectory = `${logs.path}/${name}`;
    if (hostPort !== undefined) { for (const p of config.portMappings) p.hostPort = hostPort; }
    return config;
  };
  const containerConfig = async (file: string) => {
    const config = fromJsonString(ContainerConfigSchema, await read(file));
    assert.match(config.image!.image, /busybox/, `${file} names busybox`);
    config.image = { ...config.image!, image: BUSYBOX_IMAGE };
    return config;
  };
  const run = async (podFile: string, containerFile: string, hostPort?: number) => {
    const sandboxConfig = await podConfig(podFile, hostPort);
    const { podSandboxId } = await rt.runPodSandbox({ config: sandboxConfig });
    const { containerId } = await rt.createContainer({
      podSandboxId,
      config: await containerConfig(containerFile),
      sandboxConfig,
    });
    await rt.startContainer({ containerId });
    const { status } = await rt.containerStatus({ containerId });
    assert.equal(status?.state, ContainerState.CONTAINER_RUNNING, `${containerFile} runs`);
    return { podSandboxId, containerId, status };
  };

  await t.step("pod-busybox.json + container-busybox.json: runs and logs its greeting", async () => {
    const { podSandboxId, status } = await run("pod-busybox.json", "container-busybox.json");
    await waitFor(
      async () => (await Deno.readTextFile(status!.logPath).catch(() => "")).includes("hello from busybox"),
      {
        what: "the greeting in the container's log",
      },
    );
    await rt.removePodSandbox({ podSandboxId });
  });

  await t.step(
    "pod-httpd-hostport.json + container-httpd.json: the page answers on 127.0.0.1:<host port>",
    async () => {
      const example = fromJsonString(PodSandboxConfigSchema, await read("pod-httpd-hostport.json"));
      assert.equal(example.portMappings[0]?.containerPort, 8080);
      const hostPort = freePort();
      const { podSandboxId } = await run("pod-httpd-hostport.json", "container-httpd.json", hostPort);
      const body = await waitFor(
        () => fetch(`http://127.0.0.1:${hostPort}/`).then((r) => r.text()).catch(() => undefined),
        { what: "the httpd to answer" },
      );
      assert.equal(body.trim(), "hello from cri-podman");
      await rt.removePodSandbox({ podSandboxId });
    },
  );

  await t.step("container-shell.json: an interactive shell with a terminal", async () => {
    const { podSandboxId, containerId } = await run("pod-busybox.json", "container-shell.json");
    const { stdout } = await rt.execSync({ containerId, cmd: ["/bin/sh", "-c", "echo alive"], timeout: 10n });
    assert.equal(new TextDecoder().decode(stdout).trim(), "alive");
    await rt.removePodSandbox({ podSandboxId });
  });
});

Deno.test("examples: crictl.yaml points at the default socket, the systemd unit's command line is accepted", async () => {
  const crictl = Object.fromEntries(
    (await read("crictl.yaml")).split("\n").filter((l) => /^[a-z-]+:/.test(l)).map((l) => {
      const at = l.indexOf(":");
      return [l.slice(0, at), l.slice(at + 1).trim()];
    }),
  );
  const socket = `unix://${defaultConfig("/run/user/1001").listen}`;
  assert.equal(crictl["runtime-endpoint"], socket);
  assert.equal(crictl["image-endpoint"], socket);

  const unit = await read("cri-podman.service");
  const exec = /^ExecStart=(.+)$/m.exec(unit)?.[1]?.split(/\s+/) ?? [];
  assert.equal(exec[0], "/usr/local/bin/cri-podman");
  assert.equal(parseCli(exec.slice(1)).command, "serve");
  // The bundle alternative in its comment, flags after the script.
  const bundleLine = /^#\s+ExecStart=(.+)$/m.exec(unit)?.[1]?.split(/\s+/) ?? [];
  const script = bundleLine.findIndex((a) => a.endsWith("cri-podman.js"));
  assert.ok(script > 0, "the bundle line names the bundle");
  assert.equal(parseCli(bundleLine.slice(script + 1)).command, "serve");
  assert.ok(bundleLine.some((a) => a.startsWith("--v8-flags=")), "with the V8 flags cri-podman ships with");

  // The node's unit: the same, serving a node (tests/node_test.ts runs examples/kubelet/ inside a node).
  const nodeUnit = await read("cri-podman-node.service");
  const nodeExec = /^ExecStart=(.+)$/m.exec(nodeUnit)?.[1]?.split(/\s+/) ?? [];
  assert.equal(nodeExec[0], "/usr/local/bin/cri-podman");
  const nodeCli = parseCli(nodeExec.slice(1));
  assert.equal(nodeCli.command, "serve");
  assert.equal(nodeCli.flags["node"], true);
});
