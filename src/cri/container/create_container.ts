import type { CreateContainerRequest, CreateContainerResponseSchema } from "../../gen/runtime/v1/api_pb.ts";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { CriError } from "../../errors.ts";
import { ensureDirectory } from "../../host/dirs.ts";
import { pathExists, unreadableReason } from "../../host/files.ts";
import { isPodmanFailure } from "../../podman/errors.ts";
import {
  containerName,
  type HostPathCheck,
  planContainer,
  validateContainerConfig,
} from "../../translate/container.ts";
import type { RpcContext } from "../context.ts";
import { getKeptSandbox, resolveImage } from "../lookup.ts";
import { podmanInfo } from "../podman_info.ts";

/**
 * CreateContainer creates a container in a sandbox, joining the sandbox's namespaces as its options say
 * (CRI api.proto). Command/args follow Kubernetes' precedence over the image's entrypoint/cmd; the environment is
 * the image's plus the CRI envs (later duplicates win), without anything Podman would inject.
 * Idempotent: no. The name comes from the container's and sandbox's metadata, so a retry is refused with
 * ALREADY_EXISTS naming the existing container. A failure after Podman created it removes it again.
 * Podman: POST /libpod/containers/create and its read-back; the sandbox and the image come from the caches (GET
 * /libpod/pods/{id}/json and GET /libpod/images/{name}/json only when not kept).
 */
export async function createContainer(
  ctx: RpcContext,
  req: CreateContainerRequest,
): Promise<MessageInitShape<typeof CreateContainerResponseSchema>> {
  const config = validateContainerConfig(req.config);
  // From the cache (no Podman call while the sandbox's status is kept, as it is from RunPodSandbox on).
  const { id: sandboxId, stored: sandbox } = await getKeptSandbox(ctx, req.podSandboxId);
  const image = await resolveImage(ctx, config.image!.image, "config.image.image");
  if (!image) {
    throw new CriError("NotFound", `Image "${config.image!.image}" not found (config.image.image); pull it first`);
  }
  const host = (await podmanInfo(ctx)).host;
  const controllers = host.cgroupControllers ?? [];
  const plan = planContainer(config, {
    sandboxId,
    sandboxConfig: sandbox.config,
    image,
    ociRuntime: sandbox.runtimeHandler ? (ctx.config.runtime_handlers[sandbox.runtimeHandler] ?? "") : "",
    cgroupsAvailable: controllers.includes("memory") && controllers.includes("cpu"),
    apparmorEnabled: host.security?.apparmorEnabled ?? false,
    minOomScoreAdj: ctx.state.minOomScoreAdj,
    ociPathsHook: ctx.state.ociPathsHook,
    ...(ctx.state.nodeNetns ? { nodeNetns: ctx.state.nodeNetns } : {}),
  });
  for (const check of plan.hostPaths) await checkHostPath(check);
  if (plan.logDirectory) {
    await ensureDirectory(plan.logDirectory).catch((err: Error) => {
      throw new CriError("InvalidArgument", `config.log_path "${plan.logPath}" cannot be created: ${err.message}`);
    });
  }
  if (plan.needsMqueue && !(await pathExists("/dev/mqueue"))) {
    // Checked here: Podman 4.3 fails on it with a nil-pointer panic (500) once the pod carries a seccomp option.
    throw new CriError(
      "FailedPrecondition",
      "Cannot share the host's IPC namespace (namespace_options.ipc NODE): this host has no /dev/mqueue mounted",
    );
  }
  let id: string;
  try {
    id = await ctx.podman.containers.create(plan.spec, { signal: ctx.signal });
  } catch (err) {
    if (isPodmanFailure(err, "name-in-use")) {
      const existing = await ctx.podman.containers.inspect(plan.spec.name, { signal: ctx.signal });
      throw new CriError(
        "AlreadyExists",
        `A container with the same metadata already exists in this sandbox: "${existing?.Id ?? plan.spec.name}" ` +
          `(${containerName(config.metadata, sandbox.config.metadata!)})`,
      );
    }
    if (isPodmanFailure(err, "no-mqueue")) {
      throw new CriError(
        "FailedPrecondition",
        `Cannot share the host's IPC namespace: this host has no /dev/mqueue mounted (${err.message})`,
        { cause: err },
      );
    }
    throw err;
  }
  try {
    await ctx.cache.refreshContainer(id, ctx.signal);
  } catch (err) {
    // The container exists, but the caller (cancelled, past its deadline, or Podman gone) sees a failure: remove it
    // again, or its retry would meet it as ALREADY_EXISTS and never learn its ID. Nothing half-made stays.
    await removeQuietly(ctx, id);
    throw err;
  }
  ctx.log.info("container created", { id, name: plan.spec.name, sandbox: sandboxId });
  return { containerId: id };
}

/** Removes a container this call created; without the call's signal, which may have fired. Failures are logged. */
async function removeQuietly(ctx: RpcContext, id: string): Promise<void> {
  await ctx.podman.containers.remove(id).catch((err: Error) =>
    ctx.log.error("cannot remove a container whose create failed", { id, error: err.message })
  );
  ctx.cache.forget(id);
}

/** A mount source, device or seccomp profile the plan names must be there: say which field when not. */
async function checkHostPath(check: HostPathCheck): Promise<void> {
  if (check.need === "exists") {
    if (!(await pathExists(check.path))) {
      throw new CriError("InvalidArgument", `${check.field} "${check.path}" does not exist`);
    }
    return;
  }
  const reason = await unreadableReason(check.path);
  if (reason) throw new CriError("InvalidArgument", `${check.field} "${check.path}" cannot be read: ${reason}`);
}
