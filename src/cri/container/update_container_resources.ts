import type {
  UpdateContainerResourcesRequest,
  UpdateContainerResourcesResponseSchema,
} from "../../gen/runtime/v1/api_pb.ts";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { CriError } from "../../errors.ts";
import { toLinuxResources } from "../../translate/container.ts";
import { podmanInfo } from "../podman_info.ts";
import type { RpcContext } from "../context.ts";
import { getContainer } from "../lookup.ts";

/**
 * UpdateContainerResources applies new CPU and memory limits to a container through Podman — where the host
 * delegates cgroup controllers to this user. Elsewhere (rootless on cgroup v1, or no delegation) it answers
 * FAILED_PRECONDITION saying why, since nothing could enforce the limits. NOT_FOUND for an unknown container.
 * Podman: GET /libpod/containers/{id}/json, GET /libpod/info (cached), POST /libpod/containers/{id}/update.
 */
export async function updateContainerResources(
  ctx: RpcContext,
  req: UpdateContainerResourcesRequest,
): Promise<MessageInitShape<typeof UpdateContainerResourcesResponseSchema>> {
  const { container } = await getContainer(ctx, req.containerId);
  const info = await podmanInfo(ctx);
  const controllers = info.host.cgroupControllers ?? [];
  if (!controllers.includes("cpu") || !controllers.includes("memory")) {
    throw new CriError(
      "FailedPrecondition",
      `Cannot update resources of container "${container.Id}": no cgroup controllers are delegated to this user ` +
        `(cgroup ${info.host.cgroupVersion}, controllers: ${controllers.join(", ") || "none"}); rootless Podman runs ` +
        "containers without cgroups here",
    );
  }
  const resources = toLinuxResources(req.linux);
  if (resources) await ctx.podman.containers.update(container.Id, resources, { signal: ctx.signal });
  return {};
}
