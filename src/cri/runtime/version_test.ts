import assert from "node:assert/strict";
import { CRI_API_VERSION, CRI_PODMAN_VERSION, KUBELET_API_VERSION, RUNTIME_NAME } from "../../version.ts";
import { startInProcessCri } from "../../../tests/harness/in_process_cri.ts";

Deno.test("version() names the runtime, its version and the CRI API version without asking Podman", async () => {
  await using cri = await startInProcessCri();
  const calls = cri.fake.calls.length;
  // Podman being down changes nothing: Version never touches it.
  cri.fake.failNext("system.version", "unreachable");
  cri.fake.failNext("system.ping", "unreachable");
  const v = await cri.runtime.version({ version: "0.1.0" });
  assert.deepEqual(
    { version: v.version, runtimeName: v.runtimeName, runtimeVersion: v.runtimeVersion, api: v.runtimeApiVersion },
    {
      version: KUBELET_API_VERSION,
      runtimeName: RUNTIME_NAME,
      runtimeVersion: CRI_PODMAN_VERSION,
      api: CRI_API_VERSION,
    },
  );
  assert.equal(v.runtimeName, "cri-podman");
  assert.equal(v.runtimeApiVersion, "v1");
  assert.equal(cri.fake.calls.length, calls, "no Podman call");
});
