import assert from "node:assert/strict";
import { lastLines, probeBundleConfig } from "./oci_runtime.ts";

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
