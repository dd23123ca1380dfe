/**
 * Integration: the node. cri-podman is started the way the README starts a node — `serve --node` — on real rootless
 * Podman, and a client run through `mod.ts node --` reaches, as a kubelet in the node would: a pod's IP, a hostPort,
 * a host-network pod's port, an exec URL and port-forward URLs (a bridge pod's and a host-network pod's). From
 * outside the node the host-network port and the streaming server do not answer: they live in the node. Then
 * cri-podman restarts and the node, its pods and its namespace are still there; with no pods left the namespace stays
 * too; and `serve` run inside the node refuses to start, saying why.
 */
import assert from "node:assert/strict";
import { ContainerState, NamespaceMode } from "../src/gen/runtime/v1/api_pb.ts";
import { defaultConfig } from "../src/config/schema.ts";
import { NODE_KEEPER_NAME } from "../src/node/keeper.ts";
import { BUSYBOX_IMAGE, ensureBusyboxImage } from "./harness/busybox_image.ts";
import { type CriServer, nodeCommandArgs, startCriServer } from "./harness/cri_server.ts";
import { startPodmanService } from "./harness/podman_service.ts";
import { run } from "./harness/_process.ts";
import { freePort, makeTempDir, uniqueName, waitFor } from "./harness/temp.ts";

const DENO_JSON = new URL("../deno.json", import.meta.url).pathname;
const PROBE = new URL("./harness/node_probe.ts", import.meta.url).pathname;
const MOD_TS = new URL("../mod.ts", import.meta.url).pathname;

/** Runs `argv` inside the node through `mod.ts node` and returns its stdout. */
function inNode(argv: string[]): Promise<string> {
  return run(Deno.execPath(), nodeCommandArgs(argv));
}

/** What a client inside the node gets from `url` (see tests/harness/node_probe.ts). */
function probe(kind: "http" | "exec" | "portforward", url: string, until?: string): Promise<string> {
  return inNode([
    Deno.execPath(),
    "run",
    "--allow-all",
    "--config",
    DENO_JSON,
    PROBE,
    kind,
    url,
    ...(until ? [until] : []),
  ]);
}

/** Whether anything answers `url` from this process's own network namespace (the host's, outside the node). */
async function answersOutside(url: string): Promise<boolean> {
  try {
    await (await fetch(url, { signal: AbortSignal.timeout(3_000) })).body?.cancel();
    return true;
  } catch {
    return false;
  }
}

async function podExists(name: string): Promise<boolean> {
  return await run("podman", ["pod", "exists", name]).then(() => true, () => false);
}

function httpdCommand(page: string, listen: string): string[] {
  return ["sh", "-c", `mkdir -p /srv && echo ${page} > /srv/index.html && exec httpd -f -p ${listen} -h /srv`];
}

Deno.test("node: pod IPs, hostPorts, host-network pods and streaming URLs all answer from inside the node", async (t) => {
  await ensureBusyboxImage();
  const keeperExisted = await podExists(NODE_KEEPER_NAME);
  await using dir = await makeTempDir("node");
  await using podman = await startPodmanService();
  const start = (reuse?: CriServer) =>
    startCriServer({
      podmanSocket: podman.socketPath,
      args: ["--node"],
      ...(reuse
        ? {
          listen: reuse.socketPath,
          env: { CRI_PODMAN_PODS_NETWORK: reuse.network, CRI_PODMAN_PODS_DEFAULT_SUBNET: reuse.subnet },
        }
        : {}),
    });
  let cri = await start();
  // The restarted server keeps the first one's network (its own harness name is unused): removed at the end.
  const network = cri.network;
  const hostPort = freePort();
  const hostNetPort = freePort();
  const sandboxes: string[] = [];
  try {
    const nodeNet = (await inNode(["readlink", "/proc/self/ns/net"])).trim();
    const ourNet = Deno.readLinkSync("/proc/self/ns/net");

    await t.step("the node is a network namespace apart from ours, which cri-podman serves from outside", () => {
      assert.match(nodeNet, /^net:\[\d+\]$/);
      assert.notEqual(nodeNet, ourNet);
      assert.equal(Deno.readLinkSync(`/proc/${cri.pid}/ns/net`), ourNet, "cri-podman runs outside the node");
      assert.match(cri.log(), /serving a node/);
    });

    const runPod = async (prefix: string, page: string, listen: string, hostNetwork: boolean) => {
      const name = uniqueName(prefix);
      const config = {
        metadata: { name, namespace: "node-test", uid: `${name}-uid`, attempt: 0 },
        hostname: prefix,
        logDirectory: `${dir.path}/${name}`,
        portMappings: hostNetwork ? [] : [{ containerPort: 8080, hostPort, hostIp: "127.0.0.1" }],
        linux: {
          securityContext: {
            namespaceOptions: { network: hostNetwork ? NamespaceMode.NODE : NamespaceMode.POD },
          },
        },
      };
      const rt = cri.client.runtime;
      const { podSandboxId } = await rt.runPodSandbox({ config });
      sandboxes.push(podSandboxId);
      const { containerId } = await rt.createContainer({
        podSandboxId,
        sandboxConfig: config,
        config: {
          metadata: { name: "httpd", attempt: 0 },
          image: { image: BUSYBOX_IMAGE },
          command: httpdCommand(page, listen),
          logPath: "httpd.log",
        },
      });
      await rt.startContainer({ containerId });
      return { podSandboxId, containerId };
    };

    const bridge = await runPod("node-bridge", "bridge-page", "8080", false);
    const host = await runPod("node-host", "host-page", `127.0.0.1:${hostNetPort}`, true);
    const { status } = await cri.client.runtime.podSandboxStatus({ podSandboxId: bridge.podSandboxId });
    const podIp = status?.network?.ip ?? "";
    assert.match(podIp, /^\d+\.\d+\.\d+\.\d+$/, "the bridge pod has an IP");
    // httpd needs a moment after StartContainer.
    await waitFor(() => probe("http", `http://${podIp}:8080/`).then((t) => t.includes("bridge-page"), () => false), {
      timeoutMs: 20_000,
      what: "the bridge pod's httpd to answer inside the node",
    });

    await t.step("a pod's IP answers inside the node", async () => {
      assert.match(await probe("http", `http://${podIp}:8080/`), /^200 bridge-page/);
    });

    await t.step("a hostPort answers on the node's 127.0.0.1 (and, as before, on ours)", async () => {
      assert.match(await probe("http", `http://127.0.0.1:${hostPort}/`), /^200 bridge-page/);
      assert.equal(await answersOutside(`http://127.0.0.1:${hostPort}/`), true);
    });

    await t.step("a host-network pod's port answers on the node's 127.0.0.1, and not outside the node", async () => {
      await waitFor(
        () => probe("http", `http://127.0.0.1:${hostNetPort}/`).then((t) => t.includes("host-page"), () => false),
        { timeoutMs: 20_000, what: "the host-network pod's httpd" },
      );
      assert.equal(await answersOutside(`http://127.0.0.1:${hostNetPort}/`), false);
    });

    await t.step("an exec URL answers inside the node (and only there)", async () => {
      const { url } = await cri.client.runtime.exec({
        containerId: bridge.containerId,
        cmd: ["echo", "exec-in-node"],
        stdout: true,
      });
      assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\//);
      assert.equal(await answersOutside(url), false, "the streaming server is not in our namespace");
      assert.equal((await probe("exec", url)).trim(), "exec-in-node");
    });

    await t.step("port-forward URLs answer inside the node, for a bridge pod and a host-network pod", async () => {
      const bridgeUrl = (await cri.client.runtime.portForward({ podSandboxId: bridge.podSandboxId, port: [8080] })).url;
      assert.match(await probe("portforward", bridgeUrl, "bridge-page"), /200 OK[^]*bridge-page/);
      const hostUrl =
        (await cri.client.runtime.portForward({ podSandboxId: host.podSandboxId, port: [hostNetPort] })).url;
      assert.match(await probe("portforward", hostUrl, "host-page"), /200 OK[^]*host-page/);
    });

    await t.step("after a restart of cri-podman the node, its namespace and its pods are all still there", async () => {
      cri.client.close(); // first: a GOAWAY from a stopping server crashes Deno's HTTP/2 client (nghttp2 assertion)
      await cri.process.stop(20_000);
      cri = await start(cri);
      assert.equal((await inNode(["readlink", "/proc/self/ns/net"])).trim(), nodeNet);
      const { items } = await cri.client.runtime.listPodSandbox({});
      for (const id of sandboxes) assert.ok(items.some((p) => p.id === id), `sandbox ${id} listed after the restart`);
      const { status } = await cri.client.runtime.containerStatus({ containerId: bridge.containerId });
      assert.equal(status?.state, ContainerState.CONTAINER_RUNNING);
      assert.match(await probe("http", `http://${podIp}:8080/`), /^200 bridge-page/);
      const { url } = await cri.client.runtime.exec({
        containerId: host.containerId,
        cmd: ["echo", "again"],
        stdout: true,
      });
      assert.equal((await probe("exec", url)).trim(), "again");
    });

    await t.step("with no pods left, the node keeps its namespace", async () => {
      for (const podSandboxId of sandboxes.splice(0)) {
        await cri.client.runtime.stopPodSandbox({ podSandboxId });
        await cri.client.runtime.removePodSandbox({ podSandboxId });
      }
      assert.equal((await inNode(["readlink", "/proc/self/ns/net"])).trim(), nodeNet);
      assert.equal((await inNode(["sh", "-c", "echo $CRI_PODMAN_IN_NODE; id -u"])).trim(), "1\n0");
      // The command's exit status is node's; a signal's end is 128 + its number, as a shell reports it.
      await assert.rejects(inNode(["sh", "-c", "exit 7"]), /\(exit 7\)/);
      await assert.rejects(inNode(["sh", "-c", "kill -TERM $$"]), /\(exit 143\)/);
    });
    await t.step("examples/kubelet/run-kubelet.sh starts kubelet inside the node, configured for it", async () => {
      // A stand-in kubelet (no kubelet here): it reports where it runs, as whom, with what.
      const fake = `${dir.path}/fake-kubelet`;
      await Deno.writeTextFile(
        fake,
        '#!/bin/sh\necho "netns=$(readlink /proc/self/ns/net) uid=$(id -u) in_node=$CRI_PODMAN_IN_NODE"\n' +
          'for a in "$@"; do echo "arg=$a"; done\n',
        { mode: 0o755 },
      );
      const state = `${dir.path}/kubelet`;
      const out = await new Deno.Command("bash", {
        args: [new URL("../examples/kubelet/run-kubelet.sh", import.meta.url).pathname, "--v=2"],
        env: {
          KUBELET: fake,
          KUBECONFIG_FILE: `${dir.path}/kubeconfig`,
          KUBELET_STATE: state,
          CRI_PODMAN: `${Deno.execPath()} run --allow-all --config ${DENO_JSON} ${MOD_TS}`,
        },
        stdout: "piped",
        stderr: "piped",
      }).output();
      const text = new TextDecoder().decode(out.stdout);
      assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
      assert.match(text, new RegExp(`^netns=${nodeNet.replace(/[[\]]/g, "\\$&")} uid=0 in_node=1$`, "m"));
      for (
        const arg of [`--config=${state}/config.yaml`, `--root-dir=${state}/root`, "--node-ip=10.0.2.100", "--v=2"]
      ) {
        assert.ok(text.includes(`arg=${arg}\n`), `kubelet gets ${arg}`);
      }
      const config = await Deno.readTextFile(`${state}/config.yaml`);
      const runtimeDir = Deno.env.get("XDG_RUNTIME_DIR") ?? `/run/user/${Deno.uid()}`;
      const endpoint = `unix://${defaultConfig(runtimeDir).listen}`;
      assert.match(config, new RegExp(`^containerRuntimeEndpoint: ${endpoint}$`, "m"), "cri-podman's default socket");
      assert.match(config, new RegExp(`^imageServiceEndpoint: ${endpoint}$`, "m"));
      assert.match(config, /^featureGates:\n {2}KubeletInUserNamespace: true$/m);
      assert.match(config, /^cgroupDriver: cgroupfs$/m);
      assert.match(config, /^cgroupsPerQOS: false$/m);
      assert.match(config, new RegExp(`^podLogsDir: "${state}/pod-logs"$`, "m"));
      assert.equal(/@[A-Z_]+@/.test(config), false, "every placeholder replaced");
    });

    await t.step("serve started inside the node refuses, naming the way to serve a node", async () => {
      const out = await new Deno.Command(Deno.execPath(), {
        args: nodeCommandArgs([Deno.execPath(), "run", "--allow-all", "--config", DENO_JSON, MOD_TS, "serve"]),
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.equal(out.code, 2);
      assert.match(new TextDecoder().decode(out.stderr), /does not run inside the node.*cri-podman serve --node/);
    });
  } catch (err) {
    console.error(`cri-podman's log (last 6000 characters):\n${cri.log().slice(-6000)}`);
    throw err;
  } finally {
    for (const podSandboxId of sandboxes) {
      await cri.client.runtime.stopPodSandbox({ podSandboxId }).catch(() => {});
      await cri.client.runtime.removePodSandbox({ podSandboxId }).catch(() => {});
    }
    await cri.stop();
    await run("podman", ["network", "rm", "--force", network]).catch(() => {});
    if (!keeperExisted) await endNode();
  }
});

/** Removes the node this test made: its keeper pod and its holder process (ours, by the pid file's pid). */
async function endNode(): Promise<void> {
  await run("podman", ["pod", "rm", "--force", "--time", "0", NODE_KEEPER_NAME]).catch(() => {});
  const runtimeDir = Deno.env.get("XDG_RUNTIME_DIR") ?? `/run/user/${Deno.uid()}`;
  try {
    const { pid } = JSON.parse(await Deno.readTextFile(`${runtimeDir}/cri-podman/node/holder.pid`));
    Deno.kill(pid, "SIGTERM");
  } catch {
    // no holder
  }
}
