import assert from "node:assert/strict";
import { DEFAULT_HOOKS_DIRS, hooksDirArgs } from "./service.ts";

Deno.test("hooksDirArgs() passes Podman's default hook directories that exist, then ours", () => {
  const ours = "/run/user/1001/cri-podman/hooks.d/0123456789abcdef";
  assert.deepEqual(hooksDirArgs(ours, []), ["--hooks-dir", ours]);
  assert.deepEqual(hooksDirArgs(ours, [...DEFAULT_HOOKS_DIRS]), [
    "--hooks-dir",
    "/usr/share/containers/oci/hooks.d",
    "--hooks-dir",
    "/etc/containers/oci/hooks.d",
    "--hooks-dir",
    ours,
  ]);
});
