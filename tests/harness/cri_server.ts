/**
 * Starts the real cri-podman (`deno run mod.ts serve`) as a child process on a temp CRI socket, for integration
 * tests: the same binary path a user runs, talking to a real Podman service.
 * @module
 */
import { type BackgroundProcess, spawnBackground } from "./_process.ts";
import { connectCri, type CriClient } from "./cri_client.ts";
import { run } from "./_process.ts";
import { makeTempDir, type TempDir, uniqueName, waitFor } from "./temp.ts";
import { V8_FLAGS } from "../../src/version.ts";

const MOD_TS = new URL("../../mod.ts", import.meta.url).pathname;
const DENO_JSON = new URL("../../deno.json", import.meta.url).pathname;

/** Options of {@link startCriServer}. */
export interface CriServerOptions {
  /** Podman socket (`--podman-socket`). */
  podmanSocket: string;
  /** Let cri-podman start its own Podman when nothing answers (default false: tests bring their own). */
  embeddedPodman?: boolean;
  /** Run this file (e.g. the `deno bundle` output) instead of mod.ts, without deno.json. */
  entry?: string;
  /** CRI socket path (default: `cri.sock` in a fresh temp dir). */
  listen?: string;
  /** Extra flags for `serve`. */
  args?: string[];
  /** Extra environment (e.g. `CRI_PODMAN_PODMAN_BINARY`). */
  env?: Record<string, string>;
  /** Wait until Version answers (default true). */
  waitReady?: boolean;
  /** V8 flags (default: the ones cri-podman ships with, V8_FLAGS of src/version.ts). */
  v8Flags?: string;
}

/** A running cri-podman child process with a client connected to it. */
export interface CriServer extends AsyncDisposable {
  readonly socketPath: string;
  readonly pid: number;
  readonly process: BackgroundProcess;
  readonly client: CriClient;
  /** The pod network this server owns (unique per server, removed on dispose). */
  readonly network: string;
  /** Its default subnet (a random /24 of 10.200.0.0/13, so parallel servers do not collide). */
  readonly subnet: string;
  /** The server's log so far. */
  log(): string;
  /** SIGTERM and wait; returns the exit code. */
  stop(): Promise<number>;
}

/** The `deno` arguments that run `argv` inside the node through `mod.ts node`. */
export function nodeCommandArgs(argv: readonly string[]): string[] {
  return ["run", "--allow-all", "--config", DENO_JSON, MOD_TS, "node", "--", ...argv];
}

/** Starts cri-podman on a fresh socket in a temp dir and waits until Version answers. */
export async function startCriServer(opts: CriServerOptions): Promise<CriServer> {
  const dir: TempDir = await makeTempDir("cri");
  const socketPath = opts.listen ?? `${dir.path}/cri.sock`;
  const logPath = `${dir.path}/server.log`;
  const args = [
    "run",
    "--allow-all",
    `--v8-flags=${opts.v8Flags ?? V8_FLAGS}`,
    ...(opts.entry ? ["--no-config", opts.entry] : ["--config", DENO_JSON, MOD_TS]),
    "serve",
    "--listen",
    socketPath,
    "--podman-socket",
    opts.podmanSocket,
    "--log-level",
    "debug",
    opts.embeddedPodman ? "--embedded-podman" : "--no-embedded-podman",
    ...(opts.args ?? []),
  ];
  const network = uniqueName("cri-podman-test-net");
  const subnet = `10.${200 + Math.floor(Math.random() * 8)}.${Math.floor(Math.random() * 256)}.0/24`;
  const env = {
    NO_COLOR: "1",
    CRI_PODMAN_PODS_NETWORK: network,
    CRI_PODMAN_PODS_DEFAULT_SUBNET: subnet,
    ...opts.env,
  };
  const process = spawnBackground(Deno.execPath(), args, { logPath, env });
  const client = connectCri(socketPath);
  const log = () => {
    try {
      return Deno.readTextFileSync(logPath);
    } catch {
      return "";
    }
  };
  let stopped: Promise<number> | undefined;
  const stop = () =>
    stopped ??= (async () => {
      client.close();
      const status = await process.stop(20_000);
      await run("podman", ["network", "rm", "--force", network]).catch(() => {});
      return status.code;
    })();
  if (opts.waitReady ?? true) {
    try {
      const outcome = await waitFor(async () => {
        if (process.hasExited) return "exited";
        return await client.runtime.version({}, { timeoutMs: 1_000 }).then(() => "ready", () => false);
      }, { timeoutMs: 60_000, intervalMs: 100, what: "cri-podman to answer Version" });
      if (outcome === "exited") throw new Error(`cri-podman exited during start:\n${log()}`);
    } catch (err) {
      await stop();
      await dir[Symbol.asyncDispose]();
      throw err;
    }
  }
  return {
    socketPath,
    pid: process.pid,
    process,
    client,
    network,
    subnet,
    log,
    stop,
    async [Symbol.asyncDispose]() {
      await stop();
      await dir[Symbol.asyncDispose]();
    },
  };
}
