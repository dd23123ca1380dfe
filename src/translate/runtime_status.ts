/**
 * Runtime and network readiness conditions, the runtime's cgroup driver and Status's verbose info. Pure.
 * @module
 */
import type { MessageInitShape } from "@bufbuild/protobuf";
import { CgroupDriver, type RuntimeConditionSchema } from "../gen/runtime/v1/api_pb.ts";
import type { LibpodInfo } from "../podman/types.ts";

/** A CRI runtime condition. */
export type CriCondition = MessageInitShape<typeof RuntimeConditionSchema>;

/** The condition type names kubelet looks for. */
export const RUNTIME_READY = "RuntimeReady";
/** The network condition type. */
export const NETWORK_READY = "NetworkReady";

/** An OCI runtime that cannot run containers on this host, as a probe container found. */
export interface UnusableOciRuntime {
  /** The runtime Podman uses ("crun"). */
  name: string;
  /** Why its probe container failed, in the runtime's words. */
  reason: string;
  /** An installed runtime whose probe container ran, if any ("runc"). */
  alternative: string | undefined;
  /** Whether cri-podman runs the Podman service (and could have chosen another runtime for it). */
  embedded: boolean;
}

/** What RuntimeReady depends on. */
export interface RuntimeProbe {
  /** The ping of Podman failed (unreachable), or did not answer within the Status budget ("timeout"). */
  ping: Error | "timeout" | undefined;
  /** Podman's OCI runtime, when a probe found it unusable. */
  unusableRuntime?: UnusableOciRuntime | undefined;
}

/** RuntimeReady: Podman answers, and its OCI runtime can run containers on this host. */
export function runtimeCondition(probe: RuntimeProbe): CriCondition {
  if (probe.ping === "timeout") {
    return {
      type: RUNTIME_READY,
      status: false,
      reason: "PodmanNotResponding",
      message: "Podman accepted the connection but did not answer _ping in time",
    };
  }
  if (probe.ping) {
    return { type: RUNTIME_READY, status: false, reason: "PodmanUnreachable", message: probe.ping.message };
  }
  const rt = probe.unusableRuntime;
  if (rt) {
    const fix = rt.alternative
      ? (rt.embedded
        ? `restart cri-podman so it starts its Podman with --runtime ${rt.alternative}`
        : `set runtime = "${rt.alternative}" under [engine] in ~/.config/containers/containers.conf and restart ` +
          "the Podman service, or let cri-podman run its own (podman.embedded_service)")
      : "install an OCI runtime that runs containers on this host's cgroup layout (apt-get install runc)";
    return {
      type: RUNTIME_READY,
      status: false,
      reason: "OCIRuntimeUnusable",
      message: `Podman's OCI runtime ${rt.name} cannot run containers on this host (${rt.reason}): ${fix}`,
    };
  }
  return { type: RUNTIME_READY, status: true };
}

/** What the network readiness check found on the host. */
export interface NetworkProbe {
  /** Podman's info, or the error reading it. */
  info: LibpodInfo | Error;
  /** Whether the user may open /dev/net/tun (slirp4netns needs it). */
  tunUsable: boolean;
}

/** NetworkReady: Podman knows a network backend, slirp4netns exists and /dev/net/tun can be opened. */
export function networkCondition(probe: NetworkProbe): CriCondition {
  if (probe.info instanceof Error) {
    return { type: NETWORK_READY, status: false, reason: "PodmanUnreachable", message: probe.info.message };
  }
  if (!probe.info.host.networkBackend) {
    return {
      type: NETWORK_READY,
      status: false,
      reason: "NoNetworkBackend",
      message: "Podman reports no network backend",
    };
  }
  if (!probe.info.host.slirp4netns?.executable) {
    return {
      type: NETWORK_READY,
      status: false,
      reason: "Slirp4netnsMissing",
      message: "slirp4netns is not installed (apt-get install slirp4netns)",
    };
  }
  if (!probe.tunUsable) {
    return {
      type: NETWORK_READY,
      status: false,
      reason: "TunUnavailable",
      message: "/dev/net/tun cannot be opened by this user (as root: chmod 0666 /dev/net/tun)",
    };
  }
  return { type: NETWORK_READY, status: true };
}

/** The CRI cgroup driver for Podman's cgroup manager ("systemd" or "cgroupfs"). */
export function toCgroupDriver(cgroupManager: string): CgroupDriver {
  return cgroupManager === "systemd" ? CgroupDriver.SYSTEMD : CgroupDriver.CGROUPFS;
}

/** Status's verbose `info`: Podman facts under "podman", the effective configuration under "config". */
export function toStatusInfo(info: LibpodInfo | Error, config: unknown, podCidr: string): Record<string, string> {
  const podman = info instanceof Error ? { error: info.message } : {
    version: info.version?.Version,
    apiVersion: info.version?.APIVersion,
    rootless: info.host.security?.rootless,
    cgroupManager: info.host.cgroupManager,
    cgroupVersion: info.host.cgroupVersion,
    cgroupControllers: info.host.cgroupControllers ?? [],
    ociRuntime: info.host.ociRuntime?.name,
    networkBackend: info.host.networkBackend,
    graphRoot: info.store.graphRoot,
    graphDriver: info.store.graphDriverName,
    kernel: info.host.kernel,
  };
  return { podman: JSON.stringify(podman), config: JSON.stringify(config), podCidr };
}
