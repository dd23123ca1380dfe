import type { ListPodSandboxRequest, ListPodSandboxResponseSchema } from "../../gen/runtime/v1/api_pb.ts";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { SANDBOX_FILTER } from "../../translate/labels.ts";
import { type CriPodSandbox, matchesSandboxFilter, toCriSandboxFromList } from "../../translate/sandbox.ts";
import type { RpcContext } from "../context.ts";

/**
 * ListPodSandbox lists the sandboxes cri-podman created (never other pods), filtered by ID prefix, state and
 * label selector.
 * Podman: GET /libpod/pods/json?filters={"label":[managed, kind=sandbox]} (one call).
 */
export async function listPodSandbox(
  ctx: RpcContext,
  req: ListPodSandboxRequest,
): Promise<MessageInitShape<typeof ListPodSandboxResponseSchema>> {
  const pods = await ctx.podman.pods.list(SANDBOX_FILTER, { signal: ctx.signal });
  const items: CriPodSandbox[] = [];
  for (const pod of pods) {
    const sandbox = toCriSandboxFromList(pod);
    if (sandbox && matchesSandboxFilter(sandbox, req.filter)) items.push(sandbox);
  }
  return { items };
}
