/**
 * The node's keeper: a Podman pod whose infra container sits on Podman's default bridge network. Podman tears its
 * rootless network namespace down when the last container with a bridge network stops; the node lives in that
 * namespace, so one such container must run for as long as the node does, pods or no pods. It is made with the
 * podman command (no REST service runs yet when `cri-podman node` starts).
 * @module
 */
import { StartupError } from "../errors.ts";
import { runCommand } from "../host/processes.ts";
import { KIND, MANAGED } from "../translate/labels.ts";

/** The keeper pod's name. */
export const NODE_KEEPER_NAME = "cri-podman-node";
/** Its `io.cri-podman.kind` label. */
export const NODE_KEEPER_KIND = "node-keeper";
/** The network it joins: Podman's default bridge network, which exists on every Podman 4 host. */
export const NODE_KEEPER_NETWORK = "podman";

/** What the keeper needs: the podman binary and the infra image ("" = Podman's own pause image). */
export interface NodeKeeperOptions {
  podman: string;
  infraImage: string;
  env: Record<string, string>;
}

/** The `podman pod create` arguments of the keeper (pure). */
export function nodeKeeperCreateArgs(infraImage: string): string[] {
  return [
    "pod",
    "create",
    "--name",
    NODE_KEEPER_NAME,
    "--label",
    `${MANAGED}=true`,
    "--label",
    `${KIND}=${NODE_KEEPER_KIND}`,
    "--network",
    NODE_KEEPER_NETWORK,
    "--hostname",
    "node-keeper",
    ...(infraImage ? ["--infra-image", infraImage] : []),
  ];
}

/** Starts the keeper pod unless it runs, creating it first if needed; a failure is a StartupError saying why. */
export async function ensureNodeKeeper(opts: NodeKeeperOptions): Promise<"running" | "started" | "created"> {
  const podman = (args: string[], timeoutMs = 60_000) => runCommand(opts.podman, args, { timeoutMs, env: opts.env });
  const state = await podman(["pod", "inspect", NODE_KEEPER_NAME, "--format", "{{.State}}"]);
  if (state.code === 0 && lastLine(state.output) === "Running") return "running";
  let outcome: "started" | "created" = "started";
  if (state.code !== 0) {
    const created = await podman(nodeKeeperCreateArgs(opts.infraImage));
    // Another `cri-podman node` may have created it meanwhile; the start below tells.
    if (created.code !== 0 && !/already exists|name is in use/i.test(created.output)) {
      throw new StartupError(`Cannot create the node's keeper pod "${NODE_KEEPER_NAME}": ${lastLine(created.output)}`);
    }
    outcome = "created";
  }
  const started = await podman(["pod", "start", NODE_KEEPER_NAME]);
  if (started.code !== 0) {
    throw new StartupError(
      `Cannot start the node's keeper pod "${NODE_KEEPER_NAME}" (remove it with \`podman pod rm -f ` +
        `${NODE_KEEPER_NAME}\` and try again): ${lastLine(started.output)}`,
    );
  }
  return outcome;
}

/** The last non-empty line of a command's output (podman prints warnings first). */
function lastLine(output: string): string {
  return output.trim().split("\n").filter((l) => l.trim() !== "").at(-1)?.trim() ?? "";
}
