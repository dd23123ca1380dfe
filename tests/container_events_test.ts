/**
 * Integration: GetContainerEvents on real rootless Podman through the real cri-podman process — two subscribers at
 * once each see a sandbox's and a container's whole lifecycle, in order, with the statuses kubelet's Evented PLEG
 * rebuilds its pod cache from; and cri-podman's stop ends open streams without hanging.
 */
import assert from "node:assert/strict";
import * as grpc from "@grpc/grpc-js";
import {
  type ContainerEventResponse,
  ContainerEventType,
  ContainerState,
  NamespaceMode,
  PodSandboxState,
  RuntimeService,
} from "../src/gen/runtime/v1/api_pb.ts";
import { toGrpcServiceDefinition } from "../src/grpc/service_definition.ts";
import { BUSYBOX_IMAGE, ensureBusyboxImage } from "./harness/busybox_image.ts";
import { startCriServer } from "./harness/cri_server.ts";
import { startPodmanService } from "./harness/podman_service.ts";
import { makeTempDir, uniqueName, waitFor } from "./harness/temp.ts";

/** An open GetContainerEvents stream on a connection of its own, as kubelet holds one. */
function subscribe(socketPath: string) {
  const Ctor = grpc.makeGenericClientConstructor(
    toGrpcServiceDefinition(RuntimeService) as unknown as grpc.ServiceDefinition,
    RuntimeService.name,
  );
  const client = new Ctor(`unix://${socketPath}`, grpc.credentials.createInsecure());
  const call =
    (client as unknown as Record<string, (...a: unknown[]) => grpc.ClientReadableStream<ContainerEventResponse>>)
      .getContainerEvents!.call(client, {}, new grpc.Metadata());
  const events: ContainerEventResponse[] = [];
  call.on("data", (e: ContainerEventResponse) => events.push(e));
  const ended = new Promise<grpc.ServiceError | undefined>((resolve) => {
    call.on("error", (err: grpc.ServiceError) => resolve(err));
    call.on("end", () => resolve(undefined));
  });
  return {
    events,
    ended,
    close: () => {
      call.cancel();
      client.close();
    },
  };
}

const T = ContainerEventType;
const names = (events: ContainerEventResponse[], ids: Record<string, string>) => {
  const byId = Object.fromEntries(Object.entries(ids).map(([k, v]) => [v, k]));
  return events.map((e) =>
    `${byId[e.containerId] ?? "?"}:${T[e.containerEventType].replace(/^CONTAINER_|_EVENT$/g, "")}`
  );
};

Deno.test("GetContainerEvents: two subscribers see a pod's and a container's lifecycle on real Podman", async (t) => {
  await ensureBusyboxImage();
  await using podman = await startPodmanService();
  await using cri = await startCriServer({ podmanSocket: podman.socketPath });
  await using logs = await makeTempDir("logs");
  const rt = cri.client.runtime;
  const a = subscribe(cri.socketPath);
  const b = subscribe(cri.socketPath);
  let sandbox = "";
  try {
    // The streams are open once the server has them; an event before that would be missed, not wrong.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const name = uniqueName("evpod");
    const started = performance.now();
    sandbox = (await rt.runPodSandbox({
      config: {
        metadata: { name, namespace: "events-test", uid: `${name}-uid`, attempt: 0 },
        hostname: name.slice(0, 60),
        logDirectory: `${logs.path}/${name}`,
        linux: { securityContext: { namespaceOptions: { network: NamespaceMode.POD, pid: NamespaceMode.CONTAINER } } },
      },
    })).podSandboxId;
    const container = (await rt.createContainer({
      podSandboxId: sandbox,
      config: {
        metadata: { name: "app", attempt: 0 },
        image: { image: BUSYBOX_IMAGE },
        command: ["/bin/sh", "-c", "sleep 300"],
        logPath: "app/0.log",
      },
      sandboxConfig: { metadata: { name, namespace: "events-test", uid: `${name}-uid`, attempt: 0 } },
    })).containerId;
    // Statuses are read when an event goes out, so they show the state of that moment. kubelet's calls come seconds
    // apart; paced like them (each next call after the event of the last), every event shows its own transition.
    // Calls in quick succession are covered by the unit tests (a removed container keeps its last listing).
    const seen = async (event: string) => {
      for (const sub of [a, b]) {
        await waitFor(() => names(sub.events, { c: container }).includes(event), {
          timeoutMs: 15_000,
          what: `the container's ${event} event`,
        });
      }
    };
    await rt.startContainer({ containerId: container });
    await seen("c:STARTED");
    await rt.stopContainer({ containerId: container, timeout: 0n });
    await seen("c:STOPPED");
    await rt.removeContainer({ containerId: container });
    await rt.stopPodSandbox({ podSandboxId: sandbox });
    await rt.removePodSandbox({ podSandboxId: sandbox });
    const ids = { s: sandbox, c: container };
    const want = [
      "s:CREATED",
      "s:STARTED",
      "c:CREATED",
      "c:STARTED",
      "c:STOPPED",
      "c:DELETED",
      "s:STOPPED",
      "s:DELETED",
    ];
    for (const sub of [a, b]) {
      await waitFor(() => names(sub.events, ids).includes("s:DELETED"), {
        timeoutMs: 15_000,
        what: "the sandbox's DELETED event",
      });
    }
    const tookMs = performance.now() - started;
    // Anything still on its way (a duplicate would show here).
    await new Promise((resolve) => setTimeout(resolve, 500));

    await t.step("both get every transition once, in order", () => {
      assert.deepEqual(names(a.events.filter((e) => Object.values(ids).includes(e.containerId)), ids), want);
      assert.deepEqual(names(b.events.filter((e) => Object.values(ids).includes(e.containerId)), ids), want);
      console.log(`lifecycle of 8 events seen by both subscribers ${tookMs.toFixed(0)} ms after RunPodSandbox began`);
    });

    await t.step("with the sandbox's status and its containers' statuses", () => {
      const mine = a.events.filter((e) => Object.values(ids).includes(e.containerId));
      for (const e of mine) {
        assert.equal(e.podSandboxStatus?.id, sandbox);
        assert.equal(e.podSandboxStatus?.metadata?.uid, `${name}-uid`);
        assert.ok(e.createdAt > 0n);
      }
      const cStarted = mine[3]!;
      assert.equal(cStarted.podSandboxStatus?.state, PodSandboxState.SANDBOX_READY);
      assert.match(cStarted.podSandboxStatus?.network?.ip ?? "", /^\d+\.\d+\.\d+\.\d+$/);
      const status = cStarted.containersStatuses.find((c) => c.id === container);
      assert.equal(status?.metadata?.name, "app");
      assert.equal(status?.state, ContainerState.CONTAINER_RUNNING);
      assert.equal(cStarted.createdAt, status?.startedAt, "STARTED at the container's start");
      const cStopped = mine[4]!.containersStatuses.find((c) => c.id === container);
      assert.equal(cStopped?.state, ContainerState.CONTAINER_EXITED);
      assert.equal(mine[4]!.createdAt, cStopped?.finishedAt, "STOPPED at the container's finish");
      assert.equal(mine[5]!.containersStatuses.some((c) => c.id === container), false, "DELETED: gone from the pod");
      assert.equal(mine[7]!.podSandboxStatus?.state, PodSandboxState.SANDBOX_NOTREADY);
      // Each event's time is no earlier than the one before it on the same object.
      assert.ok(mine[0]!.createdAt <= mine[1]!.createdAt && mine[1]!.createdAt <= mine[6]!.createdAt);
      assert.ok(mine[2]!.createdAt <= mine[3]!.createdAt && mine[3]!.createdAt <= mine[4]!.createdAt);
    });

    await t.step("stopping cri-podman ends open streams with UNAVAILABLE at once", async () => {
      const began = performance.now();
      const code = await cri.stop();
      const stopMs = performance.now() - began;
      const [ea, eb] = await Promise.all([a.ended, b.ended]);
      assert.equal(ea?.code, grpc.status.UNAVAILABLE, String(ea?.details));
      assert.equal(eb?.code, grpc.status.UNAVAILABLE, String(eb?.details));
      assert.equal(code, 0);
      console.log(`cri-podman stopped in ${stopMs.toFixed(0)} ms with 2 streams open`);
      assert.ok(stopMs < 5_000, `stop took ${stopMs} ms`);
    });
  } finally {
    a.close();
    b.close();
    if (sandbox) await podman.request("DELETE", `/v4.0.0/libpod/pods/${sandbox}?force=true`).catch(() => {});
  }
});
