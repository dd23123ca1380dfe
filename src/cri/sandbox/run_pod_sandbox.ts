import type { RunPodSandboxRequest, RunPodSandboxResponseSchema } from "../../gen/runtime/v1/api_pb.ts";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { CriError } from "../../errors.ts";
import { isPodmanFailure } from "../../podman/errors.ts";
import { ensureDirectory } from "../../host/dirs.ts";
import { isHostNetwork, sandboxName, toLibpodPodSpec, validateSandboxConfig } from "../../translate/sandbox.ts";
import type { RpcContext } from "../context.ts";
import { ensureNetnsKeeper, ensurePodNetwork, forgetPodNetwork } from "../pod_network.ts";

/**
 * RunPodSandbox creates and starts a pod-level sandbox, ready on success (CRI api.proto). The sandbox is a Podman
 * pod whose infra container holds its namespaces; every CRI fact goes into the pod's labels.
 * Idempotent: no. The pod name comes from the metadata only, so a retry meets the pod it created and is refused
 * with ALREADY_EXISTS naming it, never a twin. On any failure the pod is removed again: nothing half-made stays.
 * Podman: POST /libpod/networks/create (first pod), POST /libpod/pods/create, POST /libpod/pods/{id}/start.
 */
export async function runPodSandbox(
  ctx: RpcContext,
  req: RunPodSandboxRequest,
): Promise<MessageInitShape<typeof RunPodSandboxResponseSchema>> {
  const config = validateSandboxConfig(req.config);
  const handler = req.runtimeHandler;
  if (handler !== "" && !(handler in ctx.config.runtime_handlers)) {
    const known = ["(default)", ...Object.keys(ctx.config.runtime_handlers)].join(", ");
    throw new CriError("InvalidArgument", `runtime_handler "${handler}" is not configured; configured: ${known}`);
  }
  if (config.logDirectory) {
    await ensureDirectory(config.logDirectory).catch((err: Error) => {
      throw new CriError(
        "InvalidArgument",
        `config.log_directory "${config.logDirectory}" cannot be created: ${err.message}`,
      );
    });
  }
  if (!isHostNetwork(config)) await ensurePodNetwork(ctx);
  // Alongside this pod's creation (it never rejects), awaited before the answer.
  const keeper = isHostNetwork(config) ? Promise.resolve(true) : ensureNetnsKeeper(ctx);

  const spec = toLibpodPodSpec(config, handler, {
    networkName: ctx.config.pods.network,
    infraImage: ctx.config.pods.infra_image,
    nodeHostname: ctx.state.nodeHostname,
    ...(ctx.state.nodeNetns ? { nodeNetns: ctx.state.nodeNetns } : {}),
  });
  let id: string;
  try {
    id = await ctx.podman.pods.create(spec, { signal: ctx.signal }).catch(async (err) => {
      // The network was trusted from an earlier look (ensurePodNetwork) and removed since: look again, once.
      if (isHostNetwork(config) || !isPodmanFailure(err, "not-found") || !/network/i.test(err.message)) throw err;
      forgetPodNetwork(ctx);
      await ensurePodNetwork(ctx);
      return await ctx.podman.pods.create(spec, { signal: ctx.signal });
    });
  } catch (err) {
    await keeper;
    if (isPodmanFailure(err, "name-in-use")) {
      const existing = await ctx.podman.pods.inspect(spec.name, { signal: ctx.signal });
      throw new CriError(
        "AlreadyExists",
        `A pod sandbox with the same metadata already exists: "${existing?.Id ?? spec.name}" (${
          sandboxName(config.metadata)
        })`,
      );
    }
    throw err;
  }
  try {
    await ctx.podman.pods.start(id, { signal: ctx.signal });
    // Inside the try: a failure reading the new pod back (deadline, Podman gone) fails the call, and a call that
    // failed must leave no running pod behind (kubelet creates another, and the first would run unowned).
    // With its status: kubelet asks for it next, and it is then answered from memory.
    await ctx.cache.refreshSandbox(id, ctx.signal, true);
  } catch (err) {
    await removeQuietly(ctx, id);
    await keeper;
    throw explainStartFailure(err, config.portMappings.map((p) => p.hostPort));
  }
  await keeper;
  ctx.log.info("pod sandbox ready", { id, name: spec.name, handler });
  return { podSandboxId: id };
}

/** Removes a half-made pod; a failure to do so is logged, the original error is what the caller sees. */
async function removeQuietly(ctx: RpcContext, idOrName: string): Promise<void> {
  try {
    await ctx.podman.pods.remove(idOrName);
    // An event read of the new pod that began before the removal may land after it; the tombstone outranks it, so
    // List never shows a sandbox whose RunPodSandbox failed.
    ctx.cache.forget(idOrName);
  } catch (err) {
    ctx.log.error("cannot remove a pod that failed to start", { pod: idOrName, error: (err as Error).message });
  }
}

/** Names the field behind the usual start failures (a host port taken or privileged, a sysctl the kernel refuses). */
function explainStartFailure(err: unknown, hostPorts: number[]): unknown {
  const ports = hostPorts.filter((p) => p > 0).join(", ");
  if (isPodmanFailure(err, "address-in-use")) {
    return new CriError(
      "InvalidArgument",
      `config.port_mappings: a host port is already taken (${ports}): ${err.message}`,
      {
        cause: err,
      },
    );
  }
  if (isPodmanFailure(err, "port-privileged")) {
    return new CriError(
      "InvalidArgument",
      `config.port_mappings: a host port is below net.ipv4.ip_unprivileged_port_start (${ports}): ${err.message}`,
      { cause: err },
    );
  }
  if (isPodmanFailure(err, "sysctl-refused")) {
    return new CriError("InvalidArgument", `config.linux.sysctls: ${err.message}`, { cause: err });
  }
  return err;
}
