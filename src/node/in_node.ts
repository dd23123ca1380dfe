/**
 * Where the node is, as `serve` needs it: whether we were started inside it (`serve` is not run there: see
 * {@linkcode inNodeProblem}) and the path of its network namespace as the Podman service sees it.
 * @module
 */
import { IN_NODE_ENV_VAR } from "../config/schema.ts";
import { rootlessNetnsPath } from "../host/netns.ts";

/**
 * Why `serve` must not run inside the node, when it was started there. A Podman service in its own rootless network
 * namespace breaks after its first bridge network set-up: Podman does that set-up on a thread that moves into the
 * namespace and a private mount namespace, then moves the thread back; from outside, the move back fails and the
 * thread is discarded, from inside it succeeds and the thread, still in its private mount namespace, serves later
 * container starts, whose root filesystems runc then cannot see ("stat /catatonit: no such file or directory",
 * the 11 pod starts after the first bridge pod of 12 failed inside, none of 12 outside; Podman 4.3.1).
 */
export function inNodeProblem(env: Record<string, string>): string | undefined {
  if (env[IN_NODE_ENV_VAR] !== "1") return undefined;
  return "cri-podman serve does not run inside the node (its Podman service would break there); start it outside " +
    "with `cri-podman serve --node`: it places host-network pods and its streaming server in the node";
}

/** The node's network namespace file as Podman's mount namespace has it (read through the holder's root). */
export async function nodeNetnsPath(holderPid: number, runtimeDir: string): Promise<string | undefined> {
  const seen = await rootlessNetnsPath(`/proc/${holderPid}/root${runtimeDir}`);
  return seen?.replace(`/proc/${holderPid}/root`, "");
}
