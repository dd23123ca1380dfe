/**
 * CRI pod sandboxes ⇄ Podman pods: validation of a PodSandboxConfig, the libpod pod spec it becomes, and the CRI
 * views (list item, status) rebuilt from Podman's answers and the labels we stored. Pure.
 * @module
 */
import { seccompChoice } from "./security_profiles.ts";
import { isIP } from "node:net";
import { fromJsonString, type MessageInitShape, toJsonString } from "@bufbuild/protobuf";
import {
  NamespaceMode,
  type NamespaceOption,
  type PodSandboxConfig,
  PodSandboxConfigSchema,
  type PodSandboxFilter,
  type PodSandboxSchema,
  PodSandboxState,
  type PodSandboxStatusSchema,
  Protocol,
} from "../gen/runtime/v1/api_pb.ts";
import { CriError } from "../errors.ts";
import type {
  LibpodContainerInspect,
  LibpodPodInspect,
  LibpodPodListItem,
  LibpodPodSpec,
  LibpodPortMapping,
} from "../podman/types.ts";
import { netnsKeeperLabels, RUNTIME_HANDLER, SANDBOX_CONFIG, sandboxLabels } from "./labels.ts";
import { rfc3339ToNanos } from "./time.ts";

/** A CRI PodSandbox (list item) as handlers return it. */
export type CriPodSandbox = MessageInitShape<typeof PodSandboxSchema>;
/** A CRI PodSandboxStatus as handlers return it. */
export type CriPodSandboxStatus = MessageInitShape<typeof PodSandboxStatusSchema>;

/** What the spec needs besides the CRI config. */
export interface SandboxSpecOptions {
  /** The bridge network pods join (pods.network). */
  networkName: string;
  /** Infra image; "" = Podman's default pause image. */
  infraImage: string;
  /** The node's host name: a pod without one gets it, as under containerd (Podman would use the pod's long name). */
  nodeHostname?: string;
  /**
   * When serving a node: its network namespace file, which host-network pods' containers join instead of the network
   * namespace of the Podman service (the user's own, outside the node).
   */
  nodeNetns?: string;
}

/** A sandbox's facts as stored in its pod's labels. */
export interface StoredSandbox {
  config: PodSandboxConfig;
  runtimeHandler: string;
}

const NAME_PART = /^[a-zA-Z0-9][a-zA-Z0-9.-]*$/;
const DNS_OPTION = /^[A-Za-z0-9_-]+(:[A-Za-z0-9._-]+)?$/;
const DNS_SEARCH = /^[A-Za-z0-9]([A-Za-z0-9_.-]*[A-Za-z0-9])?\.?$/;
const HOSTNAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const SYSCTL = /^[a-z0-9_]+([./][a-z0-9_-]+)+$/;

function invalid(message: string): CriError {
  return new CriError("InvalidArgument", message);
}

/**
 * The Podman pod name of a sandbox, derived from its metadata only, so that a retried RunPodSandbox meets the pod
 * it already created instead of making a twin (the cri-dockerd scheme: k8s_<name>_<namespace>_<uid>_<attempt>).
 */
export function sandboxName(md: { name: string; namespace: string; uid: string; attempt: number }): string {
  return `k8s_${md.name}_${md.namespace}_${md.uid}_${md.attempt}`;
}

/** Checks a RunPodSandbox config, naming the offending field; returns it with metadata present. */
export function validateSandboxConfig(config: PodSandboxConfig | undefined): PodSandboxConfig & {
  metadata: NonNullable<PodSandboxConfig["metadata"]>;
} {
  if (!config) throw invalid("config must be set");
  const md = config.metadata;
  if (!md) throw invalid("config.metadata must be set");
  for (const [field, value] of [["name", md.name], ["namespace", md.namespace], ["uid", md.uid]] as const) {
    if (!value) throw invalid(`config.metadata.${field} must not be empty`);
    if (!NAME_PART.test(value) || value.length > 253) {
      throw invalid(`config.metadata.${field} "${value}" must be letters, digits, '-' and '.' (at most 253)`);
    }
  }
  // Refused here, before anything is made: a deprecated seccomp string that names no profile.
  if (config.linux?.securityContext) seccompChoice(config.linux.securityContext, "config.linux.security_context");
  if (config.hostname && (!HOSTNAME.test(config.hostname) || config.hostname.length > 64)) {
    throw invalid(`config.hostname "${config.hostname}" is not a valid host name`);
  }
  if (config.logDirectory) {
    if (!config.logDirectory.startsWith("/")) {
      throw invalid(`config.log_directory "${config.logDirectory}" must be an absolute path`);
    }
    // Not cleaned but refused: "/a/b/../../escape" names a directory other than the one it seems to.
    if (
      config.logDirectory.split("/").some((part) => part === ".." || part === ".") || config.logDirectory.includes("\0")
    ) {
      throw invalid(`config.log_directory "${config.logDirectory}" must not contain "." or ".." segments`);
    }
  }
  validateDns(config);
  validatePorts(config);
  const ns = config.linux?.securityContext?.namespaceOptions;
  if (ns) validateNamespaces(ns);
  for (const key of Object.keys(config.linux?.sysctls ?? {})) {
    if (!SYSCTL.test(key)) throw invalid(`config.linux.sysctls key "${key}" is not a sysctl name`);
  }
  return config as PodSandboxConfig & { metadata: NonNullable<PodSandboxConfig["metadata"]> };
}

function validateDns(config: PodSandboxConfig): void {
  const dns = config.dnsConfig;
  if (!dns) return;
  dns.servers.forEach((s, i) => {
    if (!isIp(s)) throw invalid(`config.dns_config.servers[${i}] "${s}" is not an IP address`);
  });
  dns.searches.forEach((s, i) => {
    if (!DNS_SEARCH.test(s)) throw invalid(`config.dns_config.searches[${i}] "${s}" is not a domain name`);
  });
  dns.options.forEach((o, i) => {
    if (!DNS_OPTION.test(o)) throw invalid(`config.dns_config.options[${i}] "${o}" is not a resolv.conf option`);
  });
}

function validatePorts(config: PodSandboxConfig): void {
  config.portMappings.forEach((p, i) => {
    const field = `config.port_mappings[${i}]`;
    if (p.protocol === Protocol.SCTP) {
      throw invalid(`${field}.protocol SCTP is not supported: rootless Podman publishes only TCP and UDP ports`);
    }
    if (p.protocol !== Protocol.TCP && p.protocol !== Protocol.UDP) {
      throw invalid(`${field}.protocol ${p.protocol} is unknown`);
    }
    if (p.containerPort < 1 || p.containerPort > 65535) {
      throw invalid(`${field}.container_port ${p.containerPort} is not a port number`);
    }
    if (p.hostPort < 0 || p.hostPort > 65535) throw invalid(`${field}.host_port ${p.hostPort} is not a port number`);
    if (p.hostIp && !isIp(p.hostIp)) throw invalid(`${field}.host_ip "${p.hostIp}" is not an IP address`);
  });
}

function validateNamespaces(ns: NamespaceOption): void {
  const field = "config.linux.security_context.namespace_options";
  if (ns.network !== NamespaceMode.POD && ns.network !== NamespaceMode.NODE) {
    throw invalid(`${field}.network must be POD or NODE for a sandbox`);
  }
  if (ns.pid === NamespaceMode.TARGET) throw invalid(`${field}.pid TARGET is only valid for containers`);
  if (ns.ipc !== NamespaceMode.POD && ns.ipc !== NamespaceMode.NODE) {
    throw invalid(`${field}.ipc must be POD or NODE for a sandbox`);
  }
  if (ns.usernsOptions && ns.usernsOptions.mode !== NamespaceMode.NODE) {
    throw invalid(
      `${field}.userns_options: pod user namespaces are not supported (Status reports userNamespaces false)`,
    );
  }
}

function isIp(s: string): boolean {
  return isIP(s) !== 0;
}

/** Whether the sandbox uses the node's network namespace. */
export function isHostNetwork(config: PodSandboxConfig): boolean {
  return config.linux?.securityContext?.namespaceOptions?.network === NamespaceMode.NODE;
}

/** The libpod pod spec of a validated sandbox config. */
export function toLibpodPodSpec(
  config: ReturnType<typeof validateSandboxConfig>,
  runtimeHandler: string,
  opts: SandboxSpecOptions,
): LibpodPodSpec {
  const ns = config.linux?.securityContext?.namespaceOptions;
  const hostNetwork = isHostNetwork(config);
  // Unset options are the proto's zero values: POD for every namespace. kubelet sends pid CONTAINER (one PID
  // namespace per container) unless the pod shares its process namespace; NODE is the host's.
  // A node's host-network pod shares no network namespace: its containers join the node's (see toLibpodContainerSpec).
  const shared = hostNetwork && opts.nodeNetns ? ["uts"] : ["net", "uts"];
  if (ns?.ipc !== NamespaceMode.NODE) shared.push("ipc");
  if (ns?.pid !== NamespaceMode.CONTAINER) shared.push("pid");
  const spec: LibpodPodSpec = {
    name: sandboxName(config.metadata),
    labels: sandboxLabels(toJsonString(PodSandboxConfigSchema, config), runtimeHandler),
    shared_namespaces: shared,
  };
  if (opts.infraImage) spec.infra_image = opts.infraImage;
  if (ns?.pid === NamespaceMode.NODE) spec.pidns = { nsmode: "host" };
  if (hostNetwork) {
    // The node's network and UTS namespaces: kubelet's hostname for such pods is the node's own.
    spec.netns = { nsmode: "host" };
    spec.utsns = { nsmode: "host" };
  } else {
    spec.netns = { nsmode: "bridge" };
    spec.Networks = { [opts.networkName]: {} };
    // Podman names an unnamed pod's host after the pod, whose name can pass the kernel's 64-byte limit
    // (sethostname: EINVAL); kubelet always sends one, and without one the node's name is what runc would keep.
    const hostname = config.hostname || opts.nodeHostname;
    if (hostname) spec.hostname = hostname.slice(0, 64);
    const ports = toLibpodPortMappings(config);
    if (ports.length > 0) spec.portmappings = ports;
  }
  const dns = config.dnsConfig;
  if (dns?.servers.length) spec.dns_server = [...dns.servers];
  if (dns?.searches.length) spec.dns_search = [...dns.searches];
  if (dns?.options.length) spec.dns_option = [...dns.options];
  const sysctls = config.linux?.sysctls ?? {};
  if (Object.keys(sysctls).length > 0) spec.sysctl = { ...sysctls };
  const seccomp = toSeccompOption(config);
  if (seccomp) spec.security_opt = [seccomp];
  return spec;
}

/** The name the netns keeper had before it moved onto the pod network (one per user, on Podman's default network). */
export const LEGACY_NETNS_KEEPER_NAME = "cri-podman-netns-keeper";

/** The name of the pod that keeps Podman's rootless network namespace and the pod network's bridge up. */
export function netnsKeeperName(network: string): string {
  return `cri-podman-keeper-${network}`;
}

/**
 * The spec of the netns keeper of the pod network `network`: a pod of just its (pause) infra container on that
 * network. Rootless Podman tears its network namespace down whenever the last container on a bridge network stops,
 * and netavark removes a bridge (with its firewall chains) when its last interface goes: on a node whose pods come
 * and go one at a time, every RunPodSandbox built both again and every StopPodSandbox tore both down (measured:
 * ~100 ms of each, and a zombie slirp4netns per lifecycle). One idle pause process on the pod network keeps both.
 */
export function toLibpodNetnsKeeperSpec(infraImage: string, network: string): LibpodPodSpec {
  return {
    name: netnsKeeperName(network),
    labels: netnsKeeperLabels(),
    hostname: "netns-keeper",
    netns: { nsmode: "bridge" },
    Networks: { [network]: {} },
    ...(infraImage ? { infra_image: infraImage } : {}),
  };
}

/** Published ports: only mappings with a host port (0 means "not published", as in containerd). */
export function toLibpodPortMappings(config: PodSandboxConfig): LibpodPortMapping[] {
  return config.portMappings.filter((p) => p.hostPort > 0).map((p) => ({
    host_port: p.hostPort,
    container_port: p.containerPort,
    protocol: p.protocol === Protocol.UDP ? "udp" : "tcp",
    ...(p.hostIp ? { host_ip: p.hostIp } : {}),
  }));
}

function toSeccompOption(config: PodSandboxConfig): string | undefined {
  const sc = config.linux?.securityContext;
  if (!sc) return undefined;
  // "" is unconfined (CRI api.proto); "runtime/default" and "docker/default" keep Podman's default profile.
  const choice = seccompChoice(sc, "config.linux.security_context");
  if (choice.kind === "unconfined") return "seccomp=unconfined";
  return choice.kind === "localhost" ? `seccomp=${choice.ref}` : undefined;
}

/** Reads what we stored in a pod's labels; `undefined` for pods whose labels are not ours or are damaged. */
export function readStoredSandbox(labels: Record<string, string> | null | undefined): StoredSandbox | undefined {
  const json = labels?.[SANDBOX_CONFIG];
  if (!json) return undefined;
  try {
    return {
      config: fromJsonString(PodSandboxConfigSchema, json, { ignoreUnknownFields: true }),
      runtimeHandler: labels?.[RUNTIME_HANDLER] ?? "",
    };
  } catch {
    return undefined;
  }
}

/** The list-entry view of a pod inspect, so one inspect can refresh a list item. */
export function podListItemFromInspect(pod: LibpodPodInspect): LibpodPodListItem {
  return {
    Id: pod.Id,
    Name: pod.Name,
    Created: pod.Created,
    Status: pod.State,
    InfraId: pod.InfraContainerID ?? "",
    Labels: pod.Labels ?? null,
    Containers: (pod.Containers ?? []).map((c) => ({ Id: c.Id, Names: c.Name, Status: c.State })),
  };
}

/** A ListPodSandbox item from a pod list entry; `undefined` if the pod is not a readable sandbox of ours. */
export function toCriSandboxFromList(pod: LibpodPodListItem): CriPodSandbox | undefined {
  const stored = readStoredSandbox(pod.Labels);
  if (!stored) return undefined;
  const infra = pod.Containers?.find((c) => c.Id === pod.InfraId);
  return {
    id: pod.Id,
    metadata: stored.config.metadata,
    state: infra?.Status === "running" ? PodSandboxState.SANDBOX_READY : PodSandboxState.SANDBOX_NOTREADY,
    createdAt: rfc3339ToNanos(pod.Created),
    labels: { ...stored.config.labels },
    annotations: { ...stored.config.annotations },
    runtimeHandler: stored.runtimeHandler,
  };
}

/** PodSandboxStatus from the pod, its infra container and the stored config. */
export function toCriSandboxStatus(
  pod: LibpodPodInspect,
  infra: LibpodContainerInspect | undefined,
  stored: StoredSandbox,
  networkName: string,
): CriPodSandboxStatus {
  const ready = infra?.State.Running === true;
  const hostNetwork = isHostNetwork(stored.config);
  const net = infra?.NetworkSettings?.Networks?.[networkName];
  const ip = hostNetwork ? "" : (net?.IPAddress ?? "");
  const ipv6 = hostNetwork ? "" : (net?.GlobalIPv6Address ?? "");
  const ns = stored.config.linux?.securityContext?.namespaceOptions;
  return {
    id: pod.Id,
    metadata: stored.config.metadata,
    state: ready ? PodSandboxState.SANDBOX_READY : PodSandboxState.SANDBOX_NOTREADY,
    createdAt: rfc3339ToNanos(pod.Created),
    network: { ip: ready ? ip : "", additionalIps: ready && ipv6 ? [{ ip: ipv6 }] : [] },
    linux: {
      namespaces: {
        options: ns ?? {},
      },
    },
    labels: { ...stored.config.labels },
    annotations: { ...stored.config.annotations },
    runtimeHandler: stored.runtimeHandler,
  };
}

/** Tells whether a sandbox passes a ListPodSandbox filter (id prefix, state, label selector). */
export function matchesSandboxFilter(sandbox: CriPodSandbox, filter: PodSandboxFilter | undefined): boolean {
  if (!filter) return true;
  if (filter.id && !(sandbox.id ?? "").startsWith(filter.id)) return false;
  if (filter.state && sandbox.state !== filter.state.state) return false;
  for (const [key, value] of Object.entries(filter.labelSelector)) {
    if (sandbox.labels?.[key] !== value) return false;
  }
  return true;
}
