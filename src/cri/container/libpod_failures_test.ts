// Every classified libpod failure reaches the client of each container RPC with its gRPC code: table-driven, one
// step per (RPC, libpod call it fails in, reason).
import assert from "node:assert/strict";
import type { PodmanFailure } from "../../podman/errors.ts";
import { type InProcessCri, startInProcessCri } from "../../../tests/harness/in_process_cri.ts";
import {
  containerConfig,
  runSandbox,
  startedContainer,
  stepEachFailure,
} from "../../../tests/harness/handler_fixtures.ts";

interface Row {
  rpc: string;
  /** The libpod call that fails. */
  op: string;
  call: (cri: InProcessCri, ids: { podSandboxId: string; containerId: string }) => Promise<unknown>;
  /** Reasons the port never rejects this call with (absent objects are `undefined` or a no-op there). */
  never?: PodmanFailure[];
  /** Run with the List cache unsynced (no event stream), so that List asks Podman. */
  unsynced?: boolean;
}

const ABSENT_IS_NO_ERROR: PodmanFailure[] = ["not-found"];
const newContainer = containerConfig("new");

const ROWS: Row[] = [
  {
    rpc: "createContainer()",
    op: "containers.create",
    call: (cri, { podSandboxId }) => cri.runtime.createContainer({ podSandboxId, config: newContainer }),
  },
  {
    // The sandbox comes from the cache; Podman is asked only while the event stream is down.
    rpc: "createContainer()",
    op: "pods.inspect",
    never: ABSENT_IS_NO_ERROR,
    unsynced: true,
    call: (cri, { podSandboxId }) => cri.runtime.createContainer({ podSandboxId, config: newContainer }),
  },
  {
    rpc: "createContainer()",
    op: "images.inspect",
    never: ABSENT_IS_NO_ERROR,
    call: (cri, { podSandboxId }) => cri.runtime.createContainer({ podSandboxId, config: newContainer }),
  },
  {
    rpc: "createContainer()",
    op: "system.info",
    call: (cri, { podSandboxId }) => cri.runtime.createContainer({ podSandboxId, config: newContainer }),
  },
  {
    rpc: "startContainer()",
    op: "containers.start",
    call: (cri, { containerId }) => cri.runtime.startContainer({ containerId }),
  },
  {
    rpc: "stopContainer()",
    op: "containers.stop",
    never: ABSENT_IS_NO_ERROR,
    call: (cri, { containerId }) => cri.runtime.stopContainer({ containerId, timeout: 1n }),
  },
  {
    rpc: "stopContainer()",
    op: "containers.inspect",
    never: ABSENT_IS_NO_ERROR,
    call: (cri, { containerId }) => cri.runtime.stopContainer({ containerId, timeout: 1n }),
  },
  {
    rpc: "removeContainer()",
    op: "containers.remove",
    never: ABSENT_IS_NO_ERROR,
    call: (cri, { containerId }) => cri.runtime.removeContainer({ containerId }),
  },
  {
    rpc: "removeContainer()",
    op: "containers.inspect",
    never: ABSENT_IS_NO_ERROR,
    call: (cri, { containerId }) => cri.runtime.removeContainer({ containerId }),
  },
  {
    // Verbose or not, Status asks Podman only while the event stream is down (or for a status not kept).
    rpc: "containerStatus()",
    op: "containers.inspect",
    never: ABSENT_IS_NO_ERROR,
    unsynced: true,
    call: (cri, { containerId }) => cri.runtime.containerStatus({ containerId, verbose: true }),
  },
  {
    rpc: "listContainers()",
    op: "containers.list",
    unsynced: true,
    call: (cri) => cri.runtime.listContainers({}),
  },
  {
    rpc: "streamContainers()",
    op: "containers.list",
    unsynced: true,
    call: (cri) => cri.stream("runtime", "streamContainers", {}),
  },
  {
    rpc: "updateContainerResources()",
    op: "containers.update",
    call: (cri, { containerId }) =>
      cri.runtime.updateContainerResources({ containerId, linux: { memoryLimitInBytes: 1n << 26n } }),
  },
  {
    rpc: "updateContainerResources()",
    op: "system.info",
    call: (cri, { containerId }) =>
      cri.runtime.updateContainerResources({ containerId, linux: { memoryLimitInBytes: 1n << 26n } }),
  },
  {
    rpc: "execSync()",
    op: "exec.run",
    call: (cri, { containerId }) => cri.runtime.execSync({ containerId, cmd: ["true"] }),
  },
  {
    rpc: "reopenContainerLog()",
    op: "containers.inspect",
    never: ABSENT_IS_NO_ERROR,
    call: (cri, { containerId }) => cri.runtime.reopenContainerLog({ containerId }),
  },
];

/** A sandbox with one running container, on a host that delegates cpu and memory (so updates reach Podman). */
async function running(cri: InProcessCri) {
  cri.fake.info.host.cgroupControllers = ["cpu", "memory"];
  const podSandboxId = await runSandbox(cri);
  const containerId = await startedContainer(cri, podSandboxId);
  await cri.settle();
  return { podSandboxId, containerId };
}

for (const row of ROWS) {
  const when = row.unsynced ? " while the event stream is down" : "";
  Deno.test(`${row.rpc} answers each classified failure of ${row.op} with its gRPC code${when}`, async (t) => {
    // The image cache left unsynced: image lookups ask Podman, whose failures these rows are about.
    await using cri = await startInProcessCri(row.unsynced ? { events: false } : { imageCache: false });
    const ids = await running(cri);
    const containers = cri.fake.containers_.size;
    await stepEachFailure(t, cri, row.op, () => row.call(cri, ids), {
      never: row.never,
      unchanged: () => assert.equal(cri.fake.containers_.size, containers, "nothing was created or removed"),
    });
  });
}
