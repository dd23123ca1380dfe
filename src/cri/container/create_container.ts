import type { CreateContainerRequest, CreateContainerResponseSchema } from "../../gen/runtime/v1/api_pb.ts";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { CriError, isCriError } from "../../errors.ts";
import { ensureDirectory } from "../../host/dirs.ts";
import { pathExists, unreadableReason } from "../../host/files.ts";
import {
  containerName,
  localhostSeccompProfile,
  resolveLogPath,
  toLibpodContainerSpec,
  validateContainerConfig,
} from "../../translate/container.ts";
import { podmanInfo } from "../podman_info.ts";
import type { RpcContext } from "../context.ts";
import { resolveImage } from "../image/resolve_image.ts";
import { getSandbox } from "../sandbox/find_sandbox.ts";

/**
 * CreateContainer creates a container in a sandbox, joining the sandbox's namespaces as its options say
 * (CRI api.proto). Command/args follow Kubernetes' precedence over the image's entrypoint/cmd; the environment is
 * the image's plus the CRI envs (later duplicates win), without anything Podman would inject.
 * Idempotent: no. The name comes from the container's and sandbox's metadata, so a retry is refused with
 * ALREADY_EXISTS naming the existing container.
 * Podman: GET /libpod/pods/{id}/json, GET /libpod/images/{name}/json, POST /libpod/containers/create.
 */
export async function createContainer(
  ctx: RpcContext,
  req: CreateContainerRequest,
): Promise<MessageInitShape<typeof CreateContainerResponseSchema>> {
  const config = validateContainerConfig(req.config);
  const { pod, stored: sandbox } = await getSandbox(ctx, req.podSandboxId);
  const image = await resolveImage(ctx, config.image!.image, "config.image.image");
  if (!image) {
    throw new CriError("NotFound", `Image "${config.image!.image}" not found (config.image.image); pull it first`);
  }
  const logPath = resolveLogPath(sandbox.config.logDirectory, config.logPath);
  await checkHostPaths(config);
  if (logPath) {
    await ensureDirectory(logPath.slice(0, logPath.lastIndexOf("/"))).catch((err: Error) => {
      throw new CriError("InvalidArgument", `config.log_path "${logPath}" cannot be created: ${err.message}`);
    });
  }
  const info = await podmanInfo(ctx);
  const controllers = info.host.cgroupControllers ?? [];
  const spec = toLibpodContainerSpec(config, {
    sandboxId: pod.Id,
    sandboxConfig: sandbox.config,
    image,
    ociRuntime: sandbox.runtimeHandler ? (ctx.config.runtime_handlers[sandbox.runtimeHandler] ?? "") : "",
    cgroupsAvailable: controllers.includes("memory") && controllers.includes("cpu"),
    minOomScoreAdj: ctx.state.minOomScoreAdj,
  }, logPath);
  if (spec.ipcns?.nsmode === "host" && !(await pathExists("/dev/mqueue"))) {
    // Checked here: Podman 4.3 fails on it with a nil-pointer panic (500) once the pod carries a seccomp option.
    throw new CriError(
      "FailedPrecondition",
      "Cannot share the host's IPC namespace (namespace_options.ipc NODE): this host has no /dev/mqueue mounted",
    );
  }
  let id: string;
  try {
    id = await ctx.podman.containers.create(spec, { signal: ctx.signal });
  } catch (err) {
    // Podman 4.3 answers 500 ("… is already in use …") for a taken container name.
    if (isCriError(err) && /name .* is already in use|already exists/i.test(err.message)) {
      const existing = await ctx.podman.containers.inspect(spec.name, { signal: ctx.signal });
      throw new CriError(
        "AlreadyExists",
        `A container with the same metadata already exists in this sandbox: "${existing?.Id ?? spec.name}" ` +
          `(${containerName(config.metadata, sandbox.config.metadata!)})`,
      );
    }
    if (isCriError(err) && /\/dev\/mqueue/.test(err.message)) {
      throw new CriError(
        "FailedPrecondition",
        `Cannot share the host's IPC namespace: this host has no /dev/mqueue mounted (${err.message})`,
        { cause: err },
      );
    }
    throw err;
  }
  await ctx.cache.refreshContainer(id, ctx.signal);
  ctx.log.info("container created", { id, name: spec.name, sandbox: pod.Id });
  return { containerId: id };
}

/** Mount sources and a Localhost seccomp profile must exist on the host: say which field when not. */
async function checkHostPaths(config: ReturnType<typeof validateContainerConfig>): Promise<void> {
  for (const [i, m] of config.mounts.entries()) {
    if (!(await pathExists(m.hostPath))) {
      throw new CriError("InvalidArgument", `config.mounts[${i}].host_path "${m.hostPath}" does not exist`);
    }
  }
  for (const [i, d] of config.devices.entries()) {
    if (!(await pathExists(d.hostPath))) {
      throw new CriError("InvalidArgument", `config.devices[${i}].host_path "${d.hostPath}" does not exist`);
    }
  }
  const profile = localhostSeccompProfile(config);
  if (profile !== undefined) {
    const reason = await unreadableReason(profile);
    if (reason) {
      throw new CriError(
        "InvalidArgument",
        `config.linux.security_context.seccomp "${profile}" cannot be read: ${reason}`,
      );
    }
  }
}
