/**
 * cri-podman's entry point: `serve`, `version`, `config`, `--help`.
 * @module
 */
import { type App, startApp } from "./src/app.ts";
import { helpText, parseCli } from "./src/config/cli.ts";
import { ConfigError, configToToml } from "./src/config/load.ts";
import { loadConfig, runtimeDir } from "./src/config/read.ts";
import { defaultConfig } from "./src/config/schema.ts";
import { PodmanStartError } from "./src/podman/service.ts";
import { CriError } from "./src/errors.ts";
import { CRI_API_VERSION, CRI_PODMAN_VERSION, RUNTIME_NAME } from "./src/version.ts";

async function main(args: string[]): Promise<number> {
  const cli = parseCli(args);
  switch (cli.command) {
    case "help":
      console.log(helpText(defaultConfig(runtimeDir())));
      return 0;
    case "version":
      console.log(
        `${RUNTIME_NAME} ${CRI_PODMAN_VERSION} (CRI ${CRI_API_VERSION}, Kubernetes 1.36; Deno ${Deno.version.deno})`,
      );
      return 0;
    case "config":
      console.log(configToToml(await loadConfig(cli)));
      return 0;
    case "serve":
      return await serve(await loadConfig(cli));
  }
}

async function serve(config: Awaited<ReturnType<typeof loadConfig>>): Promise<number> {
  const app: App = await startApp(config);
  const done = Promise.withResolvers<number>();
  const onSignal = (signal: Deno.Signal) => () => {
    app.log.info("signal received", { signal });
    app.stop().then(() => done.resolve(0), (err) => {
      app.log.error("shutdown failed", { error: String(err) });
      done.resolve(1);
    });
  };
  const handlers = (["SIGINT", "SIGTERM"] as const).map((s) => [s, onSignal(s)] as const);
  for (const [s, h] of handlers) Deno.addSignalListener(s, h);
  const code = await done.promise;
  for (const [s, h] of handlers) Deno.removeSignalListener(s, h);
  return code;
}

if (import.meta.main) {
  let code: number;
  try {
    code = await main(Deno.args);
  } catch (err) {
    if (err instanceof ConfigError || err instanceof PodmanStartError || err instanceof CriError) {
      console.error(`cri-podman: ${err.message}`);
      code = 2;
    } else {
      console.error("cri-podman: fatal:", err);
      code = 1;
    }
  }
  Deno.exit(code);
}
