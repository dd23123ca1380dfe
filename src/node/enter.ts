/**
 * `cri-podman node [-- COMMAND…]`: runs a command inside the node (Podman's user namespace and rootless network
 * namespace, see holder.ts), making the keeper and the holder first when they are missing. The command is our
 * child, with our standard input and output, and gets the signals we get; its exit status is ours.
 * @module
 */
import { type Config, IN_NODE_ENV_VAR } from "../config/schema.ts";
import { ensureNodeHolder, type NodeHolder } from "./holder.ts";
import { ensureNodeKeeper } from "./keeper.ts";
import { linuxSignalNumber } from "../translate/signals.ts";

/** The signals passed on to the command. */
const FORWARDED: readonly Deno.Signal[] = ["SIGTERM", "SIGINT", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2"];

/**
 * The nsenter command line that runs `argv` in the node, in `cwd` (pure): the holder's user and network namespaces,
 * and the mount namespace of `mountPid` (Podman's own, see {@linkcode NodeHolder.mountPid}).
 */
export function nodeEnterArgv(node: { pid: number; mountPid: number }, cwd: string, argv: readonly string[]): string[] {
  return [
    "nsenter",
    "-t",
    String(node.pid),
    "-U",
    "-n",
    `--mount=/proc/${node.mountPid}/ns/mnt`,
    // Keep our uid, which the user namespace maps to 0 (as `podman unshare` shows it).
    "--preserve-credentials",
    `--wd=${cwd}`,
    "--",
    ...argv,
  ];
}

/** What runs when no command is given: the user's shell. */
export function defaultNodeCommand(env: Record<string, string>): string[] {
  return [env["SHELL"] || "/bin/sh"];
}

/** Makes the node if it is not there (its keeper pod, then its holder process) and returns its holder. */
export async function ensureNode(
  config: Config,
  host: { env: Record<string, string>; runtimeDir: string },
): Promise<NodeHolder> {
  await ensureNodeKeeper({ podman: config.podman.binary, infraImage: config.pods.infra_image, env: host.env });
  return await ensureNodeHolder({
    podman: config.podman.binary,
    runtimeDir: host.runtimeDir,
    env: host.env,
    startTimeoutMs: config.podman.start_timeout_seconds * 1000,
  });
}

/** Runs `argv` inside the node and returns its exit status (128 + n for a signal n, as a shell reports it). */
export async function runInNode(
  config: Config,
  argv: readonly string[],
  host: { env: Record<string, string>; runtimeDir: string; cwd: string },
): Promise<number> {
  const holder = await ensureNode(config, host);
  const [cmd, ...args] = nodeEnterArgv(holder, host.cwd, argv.length > 0 ? argv : defaultNodeCommand(host.env));
  const child = new Deno.Command(cmd!, {
    args,
    env: { ...holder.env, [IN_NODE_ENV_VAR]: "1" },
    stdin: "inherit",
    stdout: "inherit",
    stderr: "inherit",
  }).spawn();
  // A terminal sends Ctrl-C (and its hang-up) to the whole foreground group, the command included: pass those on only
  // when no terminal did.
  const fromTerminal = Deno.stdin.isTerminal();
  const handlers = FORWARDED.filter((s) => !(fromTerminal && (s === "SIGINT" || s === "SIGQUIT"))).map((signal) => {
    const handler = () => {
      try {
        child.kill(signal);
      } catch {
        // ended meanwhile
      }
    };
    Deno.addSignalListener(signal, handler);
    return [signal, handler] as const;
  });
  try {
    const status = await child.status;
    // As a shell reports a command a signal ended: 128 + its number.
    return status.signal ? 128 + (linuxSignalNumber(status.signal) ?? 0) : status.code;
  } finally {
    for (const [signal, handler] of handlers) Deno.removeSignalListener(signal, handler);
  }
}
