import assert from "node:assert/strict";
import { V8_FLAGS } from "./version.ts";

Deno.test("every way of starting cri-podman passes the same V8 flags", async () => {
  const root = new URL("../", import.meta.url);
  const tasks = JSON.parse(await Deno.readTextFile(new URL("deno.json", root))).tasks as Record<string, string>;
  assert.ok(tasks["start"]!.includes(`--v8-flags=${V8_FLAGS} `), "deno task start");
  assert.ok(tasks["compile"]!.includes(`--v8-flags=${V8_FLAGS} `), "deno task compile");
  const start = await Deno.readTextFile(new URL("scripts/start.sh", root));
  assert.ok(start.includes(`\${CRI_PODMAN_V8_FLAGS:-${V8_FLAGS}}`), "scripts/start.sh");
  assert.equal(start.match(/--v8-flags="\$v8_flags"/g)?.length, 2, "both of start.sh's deno run lines");
});
