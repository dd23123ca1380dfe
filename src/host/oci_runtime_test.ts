import assert from "node:assert/strict";
import { mkdir, mkdtemp, readdir, rm, utimes } from "node:fs/promises";
import { tmpdir } from "node:os";
import { lastLines, probeBundleConfig, removeAbandonedBundles } from "./oci_runtime.ts";

Deno.test("lastLines() keeps the runtime's own words and drops logrus decorations and warnings", () => {
  const runc = [
    'time="2026-12-01T16:51:24Z" level=warning msg="unable to get oom kill count" error="no directory specified"',
    'time="2026-12-01T16:51:24Z" level=error msg="runc run failed: unable to start container process: exec: \\"/x\\""',
    "",
  ].join("\n");
  assert.equal(lastLines(runc), 'runc run failed: unable to start container process: exec: "/x"');
  assert.equal(
    lastLines("cgroups in hybrid mode not supported, drop all controllers from cgroupv2\n"),
    "cgroups in hybrid mode not supported, drop all controllers from cgroupv2",
  );
  assert.equal(lastLines("a\nb\nc\n", 2), "b; c");
});

Deno.test("probeBundleConfig() maps only the user itself to root and runs the helper read-only", () => {
  const config = probeBundleConfig("/usr/bin/catatonit", 1001, 1002) as {
    process: { args: string[]; user: { uid: number } };
    root: { readonly: boolean };
    mounts: { destination: string; source: string; options?: string[] }[];
    linux: { namespaces: { type: string }[]; uidMappings: unknown[]; gidMappings: unknown[] };
  };
  assert.deepEqual(config.process.args, ["/probe", "--version"]);
  assert.equal(config.root.readonly, true);
  assert.deepEqual(config.linux.uidMappings, [{ containerID: 0, hostID: 1001, size: 1 }]);
  assert.deepEqual(config.linux.gidMappings, [{ containerID: 0, hostID: 1002, size: 1 }]);
  assert.ok(config.linux.namespaces.some((n) => n.type === "user"), "rootless needs a user namespace");
  const probe = config.mounts.find((m) => m.destination === "/probe");
  assert.equal(probe?.source, "/usr/bin/catatonit");
  assert.ok(probe?.options?.includes("ro"));
  // No cgroupsPath: rootless Podman on cgroup v1 runs containers without cgroups, and the probe must match it.
  assert.equal((config.linux as Record<string, unknown>)["cgroupsPath"], undefined);
});

Deno.test("removeAbandonedBundles() removes the bundles of probers that are gone, and nothing else", async () => {
  const dir = await mkdtemp(`${tmpdir()}/oci-sweep-`);
  try {
    const old = new Date(Date.now() - 120_000);
    for (const name of ["oci-probe-4242-aaaaaa", "oci-probe-77-bbbbbb", "oci-probe-OLDabc", "oci-probe-NEWabc"]) {
      await mkdir(`${dir}/${name}/rootfs`, { recursive: true });
    }
    await mkdir(`${dir}/portforward`);
    await mkdir(`${dir}/oci-probe-${Deno.pid}-cccccc`); // our own probe, running now
    await utimes(`${dir}/oci-probe-OLDabc`, old, old);
    const running = (pid: number) => pid === 77; // 4242 is gone, 77 still probing
    const removed = await removeAbandonedBundles(dir, running);
    assert.deepEqual(removed.sort(), ["oci-probe-4242-aaaaaa", "oci-probe-OLDabc"]);
    assert.deepEqual(
      (await readdir(dir)).sort(),
      [`oci-probe-${Deno.pid}-cccccc`, "oci-probe-77-bbbbbb", "oci-probe-NEWabc", "portforward"].sort(),
    );
    assert.deepEqual(await removeAbandonedBundles(`${dir}/missing`), [], "a missing directory is not an error");
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
