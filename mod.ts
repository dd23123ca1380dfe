/**
 * cri-podman's entry point: `serve`, `version`, `config`, `doctor`, `--help` (the commands are listed in
 * src/config/cli.ts).
 * @module
 */
import { type App, startApp } from "./src/app.ts";
import { helpText, parseCli, usageText } from "./src/config/cli.ts";
import { unknownEnvWarnings } from "./src/config/env_check.ts";
import { configToToml } from "./src/config/load.ts";
import { loadConfig, runtimeDir } from "./src/config/read.ts";
import { defaultConfig } from "./src/config/schema.ts";
import { runDoctor } from "./src/doctor/doctor.ts";
import { runInNode } from "./src/node/enter.ts";
import { runStreamRelay, STREAM_RELAY_COMMAND } from "./src/node/stream_relay.ts";
import { CriError, StartupError } from "./src/errors.ts";
import { PORT_FORWARD_HELPER_COMMAND, runPortForwardHelper } from "./src/streaming/pod_ports.ts";
import { runJsonFilter } from "./src/host/self_program.ts";
import { filterOciConfig, OCI_PATHS_HOOK_COMMAND } from "./src/translate/oci_paths_hook.ts";
import { CRI_API_VERSION, CRI_PODMAN_VERSION, RUNTIME_NAME } from "./src/version.ts";

async function main(args: string[]): Promise<number> {
  const cli = parseCli(args);
  if (cli.command === null) {
    // A bare `cri-podman` is most likely a mistake in a unit file or script: say how to use it, and fail.
    console.error(usageText());
    return 2;
  }
  if (cli.command === "serve" || cli.command === "config" || cli.command === "doctor" || cli.command === "node") {
    // A misspelt variable would leave its setting at the default in silence; warn, but start anyway.
    for (const warning of unknownEnvWarnings(Deno.env.toObject())) console.error(`cri-podman: warning: ${warning}`);
  }
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
    case "node":
      return await runInNode(await loadConfig(cli), cli.argv ?? [], {
        env: Deno.env.toObject(),
        runtimeDir: runtimeDir(),
        cwd: Deno.cwd(),
      });
    case "doctor": {
      // The configuration is read as serve reads it: the checks look at the socket and binary serve would use.
      const { output, status } = await runDoctor(await loadConfig(cli), { json: cli.options?.["json"] === true });
      console.log(output);
      return status;
    }
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
    // The programs of a compiled binary (no `deno` to run them with): the port-forward helper (see
    // src/streaming/pod_ports.ts), the OCI hook of custom paths (src/translate/oci_paths_hook.ts) and the node's
    // stream relay (src/node/stream_relay.ts).
    code = Deno.args[0] === PORT_FORWARD_HELPER_COMMAND
      ? await runPortForwardHelper(Deno.args.slice(1))
      : Deno.args[0] === OCI_PATHS_HOOK_COMMAND
      ? await runJsonFilter(filterOciConfig)
      : Deno.args[0] === STREAM_RELAY_COMMAND
      ? await runStreamRelay(Deno.args.slice(1))
      : await main(Deno.args);
  } catch (err) {
    if (err instanceof StartupError || err instanceof CriError) {
      // A user error (flag, command, configuration, a host prerequisite, Podman that will not start): one line,
      // whatever a value or a library put in the message.
      console.error(`cri-podman: ${err.message.replace(/\s*\n\s*/g, " ")}`);
      code = 2;
    } else {
      console.error("cri-podman: fatal:", err);
      code = 1;
    }
  }
  Deno.exit(code);
}
