/**
 * CRI containers ⇄ Podman containers: validation of a ContainerConfig, the libpod spec it becomes, and the CRI
 * views (list item, status) rebuilt from Podman's answers and the labels we stored. Pure.
 * @module
 */
import { apparmorChoice, seccompChoice } from "./security_profiles.ts";
import { fromJsonString, type MessageInitShape, toJsonString } from "@bufbuild/protobuf";
import {
  type ContainerConfig,
  ContainerConfigSchema,
  type ContainerFilter,
  type ContainerSchema,
  ContainerState,
  type ContainerStatusSchema,
  MountPropagation,
  NamespaceMode,
  type PodSandboxConfig,
  SecurityProfile_ProfileType,
} from "../gen/runtime/v1/api_pb.ts";
import { CriError } from "../errors.ts";
import type {
  LibpodContainerInspect,
  LibpodContainerListItem,
  LibpodContainerSpec,
  LibpodImageInspect,
} from "../podman/types.ts";
import {
  CONTAINER_CONFIG,
  CONTAINER_IMAGE_ID,
  CONTAINER_LOG_PATH,
  CONTAINER_SANDBOX_ID,
  containerLabels,
} from "./labels.ts";
import { toCriImageId } from "./image_ref.ts";
import { MASKED_PATHS_ANNOTATION, ociPathsAnnotations, READONLY_PATHS_ANNOTATION } from "./oci_paths_hook.ts";
import { signalNumber, toCriSignal } from "./signals.ts";
import { rfc3339ToNanos } from "./time.ts";

/** A CRI Container (list item) as handlers return it. */
export type CriContainer = MessageInitShape<typeof ContainerSchema>;
/** A CRI ContainerStatus as handlers return it. */
export type CriContainerStatus = MessageInitShape<typeof ContainerStatusSchema>;

/** A container's facts as stored in its labels. */
export interface StoredContainer {
  config: ContainerConfig;
  sandboxId: string;
  /** Absolute log path ("" without one). */
  logPath: string;
  /** The image ID the container was created from (`sha256:…`). */
  imageId: string;
}

/** What building a container spec needs besides the CRI config. */
export interface ContainerSpecContext {
  sandboxId: string;
  sandboxConfig: PodSandboxConfig;
  /** When serving a node: its network namespace file, which a host-network sandbox's containers join. */
  nodeNetns?: string;
  /** The resolved image. */
  image: LibpodImageInspect;
  /** OCI runtime of the sandbox's handler ("" = Podman's default). */
  ociRuntime: string;
  /** Whether the host delegates cgroup controllers, so resource limits can be applied. */
  cgroupsAvailable: boolean;
  /** Whether Podman can apply AppArmor profiles here (`podman info`: host.security.apparmorEnabled). */
  apparmorEnabled?: boolean;
  /** The lowest oom_score_adj this unprivileged process may give a child (its own). */
  minOomScoreAdj: number;
  /**
   * Whether Podman runs cri-podman's OCI hook that applies custom read-only and masked paths (translate/
   * oci_paths_hook.ts): only the embedded service is started with it.
   */
  ociPathsHook?: boolean;
}

/**
 * The read-only paths Podman 4.3 applies itself (kubelet's default list is the same set). Any other needs the OCI
 * hook of translate/oci_paths_hook.ts.
 */
export const PODMAN_READONLY_PATHS: readonly string[] = [
  "/proc/asound",
  "/proc/bus",
  "/proc/fs",
  "/proc/irq",
  "/proc/sys",
  "/proc/sysrq-trigger",
];

/** PATH when the image sets none (as containerd and Docker do). */
export const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
const NAME = /^[a-zA-Z0-9][a-zA-Z0-9.-]*$/;

const SECURITY_CONTEXT = "config.linux.security_context";

function invalid(message: string): CriError {
  return new CriError("InvalidArgument", message);
}

/** The Podman name of a container: from its metadata and its sandbox's, so a retried create cannot make a twin. */
export function containerName(
  md: { name: string; attempt: number },
  sandbox: { name: string; namespace: string; uid: string; attempt: number },
): string {
  return `k8s_${md.name}_${sandbox.name}_${sandbox.namespace}_${sandbox.uid}_${md.attempt}`;
}

/** Checks a CreateContainer config, naming the offending field; returns it with metadata and image present. */
export function validateContainerConfig(config: ContainerConfig | undefined): ContainerConfig & {
  metadata: NonNullable<ContainerConfig["metadata"]>;
} {
  if (!config) throw invalid("config must be set");
  if (!config.metadata) throw invalid("config.metadata must be set");
  const name = config.metadata.name;
  if (!name) throw invalid("config.metadata.name must not be empty");
  if (!NAME.test(name) || name.length > 253) {
    throw invalid(`config.metadata.name "${name}" must be letters, digits, '-' and '.'`);
  }
  if (!config.image?.image) throw invalid("config.image.image must not be empty");
  config.envs.forEach((e, i) => {
    if (!e.key || e.key.includes("=") || e.key.includes("\0")) {
      throw invalid(`config.envs[${i}].key "${e.key}" is not a valid variable name`);
    }
  });
  config.mounts.forEach((m, i) => {
    if (!m.containerPath.startsWith("/")) {
      throw invalid(`config.mounts[${i}].container_path "${m.containerPath}" must be absolute`);
    }
    if (m.image?.image) throw invalid(`config.mounts[${i}].image: image volumes are not supported`);
    if (!m.hostPath.startsWith("/")) throw invalid(`config.mounts[${i}].host_path "${m.hostPath}" must be absolute`);
    if (!(m.propagation in PROPAGATION)) {
      throw invalid(`config.mounts[${i}].propagation ${m.propagation} is not a MountPropagation value (0, 1 or 2)`);
    }
  });
  config.devices.forEach((d, i) => {
    if (!d.hostPath.startsWith("/")) throw invalid(`config.devices[${i}].host_path "${d.hostPath}" must be absolute`);
    if (d.permissions && !/^[rwm]+$/.test(d.permissions)) {
      throw invalid(`config.devices[${i}].permissions "${d.permissions}" must be made of r, w and m`);
    }
  });
  const sc = config.linux?.securityContext;
  if (sc) {
    // Refused here, before anything is made: a deprecated profile string that names no profile.
    seccompChoice(sc, SECURITY_CONTEXT);
    apparmorChoice(sc, SECURITY_CONTEXT);
  }
  if (sc?.runAsGroup && !sc.runAsUser && !sc.runAsUsername) {
    // CRI api.proto: run_as_group may only be set with run_as_user or run_as_username.
    throw invalid("config.linux.security_context.run_as_group needs run_as_user or run_as_username");
  }
  sc?.readonlyPaths.forEach((path, i) => {
    if (!path.startsWith("/")) throw invalid(`${SECURITY_CONTEXT}.readonly_paths[${i}] "${path}" must be absolute`);
  });
  const ns = sc?.namespaceOptions;
  if (ns?.pid === NamespaceMode.TARGET && !ns.targetId) {
    throw invalid("config.linux.security_context.namespace_options.target_id must name a container for pid TARGET");
  }
  return config as ContainerConfig & { metadata: NonNullable<ContainerConfig["metadata"]> };
}

/**
 * The absolute log path: the sandbox's log directory + the container's log_path, which must stay inside it.
 * "" when the container has no log path.
 */
export function resolveLogPath(logDirectory: string, logPath: string): string {
  if (!logPath) return "";
  if (!logDirectory) throw invalid("config.log_path needs the sandbox's log_directory, which is empty");
  if (logPath.startsWith("/")) throw invalid(`config.log_path "${logPath}" must be relative to the log directory`);
  const parts: string[] = [];
  for (const part of logPath.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") throw invalid(`config.log_path "${logPath}" escapes the sandbox's log directory`);
    parts.push(part);
  }
  if (parts.length === 0) throw invalid(`config.log_path "${logPath}" names no file`);
  return `${logDirectory.replace(/\/+$/, "")}/${parts.join("/")}`;
}

/**
 * The process argv with Kubernetes' precedence: command replaces the image's entrypoint (and drops its cmd), args
 * replace the image's cmd.
 */
export function resolveArgv(image: LibpodImageInspect, command: readonly string[], args: readonly string[]): string[] {
  const entrypoint = command.length > 0 ? [...command] : [...(image.Config?.Entrypoint ?? [])];
  const cmd = args.length > 0 ? [...args] : command.length > 0 ? [] : [...(image.Config?.Cmd ?? [])];
  return [...entrypoint, ...cmd];
}

/**
 * The environment: the image's, then the CRI envs in order (a later duplicate wins), plus HOSTNAME and a default
 * PATH when the image has none. Nothing Podman would inject (TERM, container=podman, proxy variables).
 */
export function resolveEnv(
  image: LibpodImageInspect,
  config: ContainerConfig,
  hostname: string,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const entry of image.Config?.Env ?? []) {
    const eq = entry.indexOf("=");
    if (eq > 0) env[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  env["PATH"] ??= DEFAULT_PATH;
  if (hostname) env["HOSTNAME"] = hostname;
  const decoder = new TextDecoder();
  for (const { key, value } of config.envs) env[key] = decoder.decode(value);
  return env;
}

/** The user spec Podman takes: "uid[:gid]" or "name[:gid]"; undefined for the image's user. */
export function toLibpodUser(config: ContainerConfig): string | undefined {
  const sc = config.linux?.securityContext;
  if (!sc) return undefined;
  const group = sc.runAsGroup ? `:${sc.runAsGroup.value}` : "";
  if (sc.runAsUser) return `${sc.runAsUser.value}${group}`;
  if (sc.runAsUsername) return `${sc.runAsUsername}${group}`;
  return undefined;
}

const PROPAGATION: Record<MountPropagation, string> = {
  [MountPropagation.PROPAGATION_PRIVATE]: "rprivate",
  [MountPropagation.PROPAGATION_HOST_TO_CONTAINER]: "rslave",
  [MountPropagation.PROPAGATION_BIDIRECTIONAL]: "rshared",
};

/** The libpod spec of a validated container config. */
export function toLibpodContainerSpec(
  config: ReturnType<typeof validateContainerConfig>,
  ctx: ContainerSpecContext,
  logPath: string,
): LibpodContainerSpec {
  const sandboxMd = ctx.sandboxConfig.metadata ?? { name: "", namespace: "", uid: "", attempt: 0 };
  const sc = config.linux?.securityContext;
  const sandboxNs = ctx.sandboxConfig.linux?.securityContext?.namespaceOptions;
  const hostNetwork = sandboxNs?.network === NamespaceMode.NODE;
  const imageId = toCriImageId(ctx.image.Id);
  const spec: LibpodContainerSpec = {
    name: containerName(config.metadata, sandboxMd),
    pod: ctx.sandboxId,
    image: ctx.image.Id,
    raw_image_name: config.image?.image ?? ctx.image.Id,
    // The full argv as entrypoint: Podman then adds nothing from the image (its CMD is used only without one).
    entrypoint: resolveArgv(ctx.image, config.command, config.args),
    command: [],
    env: resolveEnv(ctx.image, config, hostNetwork ? "" : ctx.sandboxConfig.hostname),
    unsetenvall: true,
    httpproxy: false,
    env_host: false,
    labels: containerLabels(toJsonString(ContainerConfigSchema, config), ctx.sandboxId, logPath, imageId),
    annotations: withoutOciPathsAnnotations(config.annotations),
    terminal: config.tty,
    stdin: config.stdin,
  };
  if (config.workingDir) spec.work_dir = config.workingDir;
  const user = toLibpodUser(config);
  if (user) spec.user = user;
  if (sc?.supplementalGroups.length) spec.groups = sc.supplementalGroups.map(String);
  if (sc?.privileged) spec.privileged = true;
  if (sc?.capabilities?.addCapabilities.length) spec.cap_add = [...sc.capabilities.addCapabilities];
  if (sc?.capabilities?.dropCapabilities.length) spec.cap_drop = [...sc.capabilities.dropCapabilities];
  if (sc?.noNewPrivs) spec.no_new_privileges = true;
  if (sc?.readonlyRootfs) spec.read_only_filesystem = true;
  const seccomp = toSeccompPath(config);
  if (seccomp) spec.seccomp_profile_path = seccomp;
  const apparmor = toApparmorProfile(config, ctx.apparmorEnabled ?? false);
  if (apparmor) spec.apparmor_profile = apparmor;
  if (sc && !sc.privileged) {
    // kubelet sends the default masked/readonly lists, or none for procMount Unmasked.
    if (sc.maskedPaths.length === 0 && sc.readonlyPaths.length === 0) spec.unmask = ["ALL"];
    else if (sc.maskedPaths.length > 0) spec.mask = [...sc.maskedPaths];
    if (needsOciPathsHook(config)) {
      // Podman's own lists are then replaced by the CRI's, both exactly; mask/unmask above are harmless.
      if (!ctx.ociPathsHook) {
        const custom = sc.readonlyPaths.filter((p) => !PODMAN_READONLY_PATHS.includes(p));
        throw new CriError(
          "FailedPrecondition",
          `${SECURITY_CONTEXT}.readonly_paths ${JSON.stringify(custom)}: Podman 4.3 can make only its default paths ` +
            `read-only (${PODMAN_READONLY_PATHS.join(", ")}); custom readonly_paths need the embedded Podman ` +
            "service (podman.embedded_service), which cri-podman starts with an OCI hook that applies them",
        );
      }
      spec.annotations = { ...spec.annotations, ...ociPathsAnnotations(sc.readonlyPaths, sc.maskedPaths) };
    }
  }
  const stop = signalNumber(config.stopSignal);
  if (stop !== undefined) spec.stop_signal = stop;
  if (config.mounts.length > 0) {
    spec.mounts = config.mounts.map((m) => ({
      destination: m.containerPath,
      source: m.hostPath,
      type: "bind",
      options: ["rbind", m.readonly ? "ro" : "rw", PROPAGATION[m.propagation]],
    }));
  }
  const devices = [
    ...config.devices.map((d) => ({
      path: `${d.hostPath}:${d.containerPath || d.hostPath}:${d.permissions || "rwm"}`,
    })),
    ...config.CDIDevices.map((d) => ({ path: d.name })),
  ];
  if (devices.length > 0) spec.devices = devices;
  const ns = sc?.namespaceOptions;
  if (ns?.pid === NamespaceMode.NODE) spec.pidns = { nsmode: "host" };
  else if (ns?.pid === NamespaceMode.TARGET) spec.pidns = { nsmode: "container", value: ns.targetId };
  else if (ns?.pid === NamespaceMode.CONTAINER) spec.pidns = { nsmode: "private" };
  if (ns?.ipc === NamespaceMode.NODE || sandboxNs?.ipc === NamespaceMode.NODE) spec.ipcns = { nsmode: "host" };
  // A node's host-network pod: Podman 4.3 pods take no network namespace path ("pods presently do not support network
  // mode path"), so the pod leaves the network namespace unshared and each container joins the node's.
  if (hostNetwork && ctx.nodeNetns) spec.netns = { nsmode: "path", value: ctx.nodeNetns };
  if (ctx.ociRuntime) spec.oci_runtime = ctx.ociRuntime;
  spec.log_configuration = logPath ? { driver: "k8s-file", path: logPath } : { driver: "k8s-file" };
  const res = config.linux?.resources;
  if (res) {
    if (res.oomScoreAdj !== 0n) spec.oom_score_adj = clampOomScoreAdj(Number(res.oomScoreAdj), ctx.minOomScoreAdj);
    if (ctx.cgroupsAvailable) {
      const limits = toLinuxResources(res);
      if (limits) spec.resource_limits = limits;
    }
  }
  return spec;
}

/**
 * Whether a container's read-only paths need the OCI hook: an unprivileged container with a readonly_paths entry
 * outside {@linkcode PODMAN_READONLY_PATHS}. kubelet's defaults (and procMount Unmasked) never do, so they cost no hook
 * run (~50 ms of Deno start per container start).
 */
export function needsOciPathsHook(config: ContainerConfig): boolean {
  const sc = config.linux?.securityContext;
  if (!sc || sc.privileged) return false;
  return sc.readonlyPaths.some((p) => !PODMAN_READONLY_PATHS.includes(p));
}

/** A container's CRI annotations without the two the hook reads: only we may set those (an empty list unmasks all). */
function withoutOciPathsAnnotations(annotations: Record<string, string>): Record<string, string> {
  const out = { ...annotations };
  delete out[READONLY_PATHS_ANNOTATION];
  delete out[MASKED_PATHS_ANNOTATION];
  return out;
}

/** An unprivileged process cannot give a child an oom_score_adj below its own: clamp into [own, 1000]. */
export function clampOomScoreAdj(value: number, minimum: number): number {
  return Math.min(1000, Math.max(value, minimum, -1000));
}

/** OCI LinuxResources for what the CRI asks, or undefined when it asks nothing. */
export function toLinuxResources(
  res: NonNullable<ContainerConfig["linux"]>["resources"],
): Record<string, unknown> | undefined {
  if (!res) return undefined;
  const cpu: Record<string, unknown> = {};
  if (res.cpuShares > 0n) cpu["shares"] = Number(res.cpuShares);
  if (res.cpuQuota !== 0n) cpu["quota"] = Number(res.cpuQuota);
  if (res.cpuPeriod > 0n) cpu["period"] = Number(res.cpuPeriod);
  if (res.cpusetCpus) cpu["cpus"] = res.cpusetCpus;
  if (res.cpusetMems) cpu["mems"] = res.cpusetMems;
  const memory: Record<string, unknown> = {};
  if (res.memoryLimitInBytes > 0n) memory["limit"] = Number(res.memoryLimitInBytes);
  if (res.memorySwapLimitInBytes > 0n) memory["swap"] = Number(res.memorySwapLimitInBytes);
  const out: Record<string, unknown> = {};
  if (Object.keys(cpu).length) out["cpu"] = cpu;
  if (Object.keys(memory).length) out["memory"] = memory;
  if (res.hugepageLimits.length) {
    out["hugepageLimits"] = res.hugepageLimits.map((h) => ({ pageSize: h.pageSize, limit: Number(h.limit) }));
  }
  if (Object.keys(res.unified).length) out["unified"] = { ...res.unified };
  return Object.keys(out).length ? out : undefined;
}

function toSeccompPath(config: ContainerConfig): string | undefined {
  const sc = config.linux?.securityContext;
  // No profile at all means unconfined (CRI api.proto, seccomp_profile_path: "" is unconfined); kubelet always
  // names one (RuntimeDefault or Unconfined).
  if (!sc || sc.privileged) return "unconfined";
  const choice = seccompChoice(sc, SECURITY_CONTEXT);
  if (choice.kind === "unconfined") return "unconfined";
  return choice.kind === "localhost" ? choice.ref : undefined; // undefined: Podman's default profile
}

/**
 * The AppArmor profile for Podman (`apparmor_profile`), as containerd applies it: none asked or a privileged
 * container, nothing; on a host without AppArmor only "unconfined" is accepted (FailedPrecondition otherwise).
 */
function toApparmorProfile(config: ContainerConfig, apparmorEnabled: boolean): string | undefined {
  const sc = config.linux?.securityContext;
  if (!sc || sc.privileged) return undefined;
  const choice = apparmorChoice(sc, SECURITY_CONTEXT);
  if (!choice) return undefined;
  if (!apparmorEnabled) {
    if (choice.kind === "unconfined") return undefined;
    throw new CriError(
      "FailedPrecondition",
      `${SECURITY_CONTEXT}.apparmor asks for an AppArmor profile, but AppArmor is not enabled on this host`,
    );
  }
  if (choice.kind === "unconfined") return "unconfined";
  return choice.kind === "localhost" ? choice.ref : undefined; // undefined: Podman's default profile
}

/** The Localhost seccomp profile a config names, if any (the handler checks it can be read). */
export function localhostSeccompProfile(config: ContainerConfig): string | undefined {
  const sc = config.linux?.securityContext;
  if (sc?.seccomp?.profileType === SecurityProfile_ProfileType.Localhost) return sc.seccomp.localhostRef;
  if (sc?.seccompProfilePath.startsWith("localhost/")) return sc.seccompProfilePath.slice("localhost/".length);
  return undefined;
}

/** A host path CreateContainer must find on the host before it asks Podman, and the field that named it. */
export interface HostPathCheck {
  field: string;
  path: string;
  /** "exists" for mount and device sources; "readable" for a seccomp profile file. */
  need: "exists" | "readable";
}

/** Everything CreateContainer does, decided up front: the spec, the host checks, the log location. */
export interface ContainerPlan {
  spec: LibpodContainerSpec;
  /** The absolute log path ("" without one). */
  logPath: string;
  /** The log path's directory, to create ("" without a log path). */
  logDirectory: string;
  hostPaths: HostPathCheck[];
  /** The container shares the host's IPC namespace, which needs /dev/mqueue (Podman 4.3 panics without it). */
  needsMqueue: boolean;
}

/**
 * Plans a validated container: resolves its log path inside the sandbox's log directory (INVALID_ARGUMENT naming
 * config.log_path when it escapes), builds the libpod spec and lists what must exist on the host. Pure.
 */
export function planContainer(
  config: ReturnType<typeof validateContainerConfig>,
  ctx: ContainerSpecContext,
): ContainerPlan {
  const logPath = resolveLogPath(ctx.sandboxConfig.logDirectory, config.logPath);
  const hostPaths: HostPathCheck[] = [
    ...config.mounts.map((m, i) => ({
      field: `config.mounts[${i}].host_path`,
      path: m.hostPath,
      need: "exists" as const,
    })),
    ...config.devices.map((d, i) => ({
      field: `config.devices[${i}].host_path`,
      path: d.hostPath,
      need: "exists" as const,
    })),
  ];
  const profile = localhostSeccompProfile(config);
  if (profile !== undefined) {
    hostPaths.push({ field: "config.linux.security_context.seccomp", path: profile, need: "readable" });
  }
  const spec = toLibpodContainerSpec(config, ctx, logPath);
  return {
    spec,
    logPath,
    logDirectory: logPath ? logPath.slice(0, logPath.lastIndexOf("/")) : "",
    hostPaths,
    needsMqueue: spec.ipcns?.nsmode === "host",
  };
}

/** Reads what we stored in a container's labels; `undefined` for containers that are not ours or are damaged. */
export function readStoredContainer(labels: Record<string, string> | null | undefined): StoredContainer | undefined {
  const json = labels?.[CONTAINER_CONFIG];
  const sandboxId = labels?.[CONTAINER_SANDBOX_ID];
  if (!json || !sandboxId) return undefined;
  try {
    return {
      config: fromJsonString(ContainerConfigSchema, json, { ignoreUnknownFields: true }),
      sandboxId,
      logPath: labels?.[CONTAINER_LOG_PATH] ?? "",
      imageId: labels?.[CONTAINER_IMAGE_ID] ?? "",
    };
  } catch {
    return undefined;
  }
}

/** The CRI state of a Podman container status. */
export function toCriContainerState(status: string | undefined): ContainerState {
  switch (status) {
    case "created":
    case "configured":
    case "initialized":
      return ContainerState.CONTAINER_CREATED;
    case "running":
    case "paused":
    case "stopping":
      return ContainerState.CONTAINER_RUNNING;
    case "exited":
    case "stopped":
      return ContainerState.CONTAINER_EXITED;
    default:
      return ContainerState.CONTAINER_UNKNOWN;
  }
}

/** What a list item needs from Podman, from either a list entry or an inspect. */
export interface ContainerFacts {
  id: string;
  created: string;
  status: string;
  imageId?: string | undefined;
}

/** Facts of a `GET /containers/json` entry. */
export function factsFromList(c: LibpodContainerListItem): ContainerFacts {
  return { id: c.Id, created: c.Created, status: c.State, imageId: c.ImageID };
}

/** Facts of a container inspect. */
export function factsFromInspect(c: LibpodContainerInspect): ContainerFacts {
  return { id: c.Id, created: c.Created, status: c.State.Status, imageId: c.Image };
}

/** A ListContainers item from Podman's facts and what we stored. */
export function toCriContainer(c: ContainerFacts, stored: StoredContainer): CriContainer {
  const imageId = stored.imageId || (c.imageId ? toCriImageId(c.imageId) : "");
  return {
    id: c.id,
    podSandboxId: stored.sandboxId,
    metadata: stored.config.metadata,
    image: {
      image: stored.config.image?.image ?? "",
      userSpecifiedImage: stored.config.image?.userSpecifiedImage ?? "",
    },
    imageRef: imageId,
    imageId,
    state: toCriContainerState(c.status),
    createdAt: rfc3339ToNanos(c.created),
    labels: { ...stored.config.labels },
    annotations: { ...stored.config.annotations },
  };
}

/** ContainerStatus from an inspected container and what we stored. */
export function toCriContainerStatus(c: LibpodContainerInspect, stored: StoredContainer): CriContainerStatus {
  const state = toCriContainerState(c.State.Status);
  const exited = state === ContainerState.CONTAINER_EXITED;
  const reason = !exited ? "" : c.State.OOMKilled ? "OOMKilled" : c.State.ExitCode === 0 ? "Completed" : "Error";
  const item = toCriContainer(factsFromInspect(c), stored);
  const status: CriContainerStatus = {
    id: c.Id,
    metadata: stored.config.metadata,
    state,
    createdAt: item.createdAt ?? 0n,
    startedAt: state === ContainerState.CONTAINER_CREATED ? 0n : rfc3339ToNanos(c.State.StartedAt),
    finishedAt: exited ? rfc3339ToNanos(c.State.FinishedAt) : 0n,
    exitCode: exited ? c.State.ExitCode : 0,
    image: item.image ?? {},
    imageRef: item.imageRef ?? "",
    imageId: item.imageId ?? "",
    reason,
    message: c.State.Error ?? "",
    labels: { ...stored.config.labels },
    annotations: { ...stored.config.annotations },
    mounts: stored.config.mounts,
    logPath: stored.logPath,
    // The effective signal: the configured one, else what Podman took from the image (or its SIGTERM default).
    stopSignal: stored.config.stopSignal || toCriSignal(c.Config?.StopSignal),
  };
  if (stored.config.linux?.resources) status.resources = { linux: stored.config.linux.resources };
  const user = parseNumericUser(c.Config?.User ?? "");
  if (user) {
    status.user = {
      linux: {
        uid: user.uid,
        gid: user.gid,
        supplementalGroups: stored.config.linux?.securityContext?.supplementalGroups ?? [],
      },
    };
  }
  return status;
}

/**
 * The process's uid and gid when the user spec pins both: "" is root (0:0) and "uid:gid" is exact. A bare uid's
 * group comes from the image's /etc/passwd, which we do not read, so it yields no user rather than a guess.
 */
function parseNumericUser(user: string): { uid: bigint; gid: bigint } | undefined {
  if (user === "") return { uid: 0n, gid: 0n };
  const m = /^(\d+):(\d+)$/.exec(user);
  return m ? { uid: BigInt(m[1]!), gid: BigInt(m[2]!) } : undefined;
}

/** Tells whether a container passes a ListContainers filter (id prefix, sandbox, state, label selector). */
export function matchesContainerFilter(c: CriContainer, filter: ContainerFilter | undefined): boolean {
  if (!filter) return true;
  if (filter.id && !(c.id ?? "").startsWith(filter.id)) return false;
  if (filter.podSandboxId && !(c.podSandboxId ?? "").startsWith(filter.podSandboxId)) return false;
  if (filter.state && c.state !== filter.state.state) return false;
  for (const [key, value] of Object.entries(filter.labelSelector)) {
    if (c.labels?.[key] !== value) return false;
  }
  return true;
}
