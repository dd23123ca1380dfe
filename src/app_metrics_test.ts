import assert from "node:assert/strict";
import { startApp } from "./app.ts";
import { resolveConfig } from "./config/load.ts";
import { StartupError } from "./errors.ts";

Deno.test("startApp() fails at once, in one line naming metrics.address, when the address is taken", async () => {
  const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const address = `127.0.0.1:${(taken.addr as Deno.NetAddr).port}`;
    // Nothing else is reached: the runtime directory and Podman socket below do not exist.
    const config = resolveConfig({
      runtimeDir: "/nonexistent/run",
      env: { CRI_PODMAN_METRICS_ADDRESS: address, CRI_PODMAN_LOG_LEVEL: "error" },
    });
    await assert.rejects(startApp(config), (err: Error) => {
      assert.ok(err instanceof StartupError, String(err));
      assert.match(
        err.message,
        new RegExp(`^Cannot serve metrics on ${address} \\(metrics\\.address\\): .*in use`, "i"),
      );
      assert.ok(!err.message.includes("\n"), "one line");
      return true;
    });
  } finally {
    taken.close();
  }
});
