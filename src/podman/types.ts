/**
 * The subset of libpod (Podman 4.3) JSON shapes cri-podman reads. Field names are Podman's.
 * @module
 */

/** `GET /libpod/images/json` item. */
export interface LibpodImageSummary {
  Id: string;
  RepoTags?: string[] | null;
  RepoDigests?: string[] | null;
  Size: number;
  Created?: number;
  Labels?: Record<string, string> | null;
  Digest?: string;
  Names?: string[] | null;
}

/** `GET /libpod/images/{name}/json`. */
export interface LibpodImageInspect {
  Id: string;
  Digest?: string;
  RepoTags?: string[] | null;
  RepoDigests?: string[] | null;
  Size: number;
  User?: string;
  Created?: string;
  Architecture?: string;
  Os?: string;
  Labels?: Record<string, string> | null;
  Annotations?: Record<string, string> | null;
  Config?: {
    User?: string;
    Env?: string[] | null;
    Entrypoint?: string[] | null;
    Cmd?: string[] | null;
    WorkingDir?: string;
    Labels?: Record<string, string> | null;
    StopSignal?: string;
    ExposedPorts?: Record<string, unknown> | null;
    Volumes?: Record<string, unknown> | null;
  };
}

/** `GET /libpod/version`. */
export interface LibpodVersion {
  Version?: string;
  ApiVersion?: string;
  Components?: { Name: string; Version: string; Details?: Record<string, string> }[];
}

/** `GET /libpod/info` (the parts we read). */
export interface LibpodInfo {
  host: {
    arch?: string;
    os?: string;
    kernel?: string;
    hostname?: string;
    cgroupManager: string;
    cgroupVersion: string;
    cgroupControllers?: string[] | null;
    networkBackend?: string;
    ociRuntime?: { name?: string; path?: string; version?: string };
    security?: { rootless?: boolean; seccompEnabled?: boolean; apparmorEnabled?: boolean; selinuxEnabled?: boolean };
    slirp4netns?: { executable?: string; version?: string };
    idMappings?: unknown;
  };
  store: {
    graphRoot: string;
    graphDriverName: string;
    runRoot?: string;
    imageStore?: { number?: number };
  };
  version?: { Version?: string; APIVersion?: string };
}

/** Credentials for a registry, as libpod takes them in `X-Registry-Auth`. */
export interface RegistryCredentials {
  username?: string;
  password?: string;
  identityToken?: string;
  serverAddress?: string;
}

/** `POST /libpod/pods/create` body: the subset of Podman's PodSpecGenerator we send. */
export interface LibpodPodSpec {
  name: string;
  labels?: Record<string, string>;
  hostname?: string;
  infra_image?: string;
  infra_name?: string;
  shared_namespaces?: string[];
  pidns?: LibpodNamespace;
  utsns?: LibpodNamespace;
  netns?: LibpodNamespace;
  Networks?: Record<string, Record<string, never>>;
  portmappings?: LibpodPortMapping[];
  dns_server?: string[];
  dns_search?: string[];
  dns_option?: string[];
  no_manage_resolv_conf?: boolean;
  sysctl?: Record<string, string>;
  security_opt?: string[];
  cgroup_parent?: string;
}

/** A namespace choice in a libpod spec (`nsmode`: host, bridge, private, …). */
export interface LibpodNamespace {
  nsmode: string;
  value?: string;
}

/** A published port of a pod. */
export interface LibpodPortMapping {
  host_ip?: string;
  host_port: number;
  container_port: number;
  protocol: "tcp" | "udp";
  range?: number;
}

/** `GET /libpod/pods/json` item. */
export interface LibpodPodListItem {
  Id: string;
  Name: string;
  Created: string;
  Status: string;
  InfraId: string;
  Labels?: Record<string, string> | null;
  Containers?: { Id: string; Names: string; Status: string }[] | null;
  Networks?: string[] | null;
}

/** `GET /libpod/pods/{id}/json`. */
export interface LibpodPodInspect {
  Id: string;
  Name: string;
  Created: string;
  State: string;
  Hostname?: string;
  Labels?: Record<string, string> | null;
  InfraContainerID?: string;
  SharedNamespaces?: string[] | null;
  CgroupParent?: string;
  Containers?: { Id: string; Name: string; State: string }[] | null;
  InfraConfig?: Record<string, unknown>;
}

/** `GET /libpod/containers/{id}/json` (the parts we read). */
export interface LibpodContainerInspect {
  Id: string;
  Name: string;
  Created: string;
  State: {
    Status: string;
    Running: boolean;
    Pid: number;
    ExitCode: number;
    StartedAt?: string;
    FinishedAt?: string;
    OOMKilled?: boolean;
    Error?: string;
  };
  Pod?: string;
  IsInfra?: boolean;
  /** The image ID. */
  Image?: string;
  /** The container's persistent directory (holds conmon's `ctl` FIFO). */
  StaticDir?: string;
  ImageName?: string;
  Config?: {
    User?: string;
    Labels?: Record<string, string> | null;
    Annotations?: Record<string, string> | null;
    /** The stop signal Podman will send (the spec's, else the image's, else 15). */
    StopSignal?: number;
  };
  NetworkSettings?: {
    IPAddress?: string;
    GlobalIPv6Address?: string;
    Networks?: Record<string, { IPAddress?: string; GlobalIPv6Address?: string }> | null;
  };
  HostConfig?: { NetworkMode?: string; PidMode?: string; IpcMode?: string; UTSMode?: string };
  /** The storage driver's facts: overlay's `UpperDir` is the container's writable layer. */
  GraphDriver?: { Name?: string; Data?: Record<string, string> | null };
}

/** `GET /libpod/networks/{name}/json` (netavark network). */
export interface LibpodNetwork {
  name: string;
  id: string;
  driver: string;
  subnets?: { subnet: string; gateway?: string }[] | null;
  labels?: Record<string, string> | null;
}

/** `POST /libpod/containers/create` body: the subset of Podman's SpecGenerator we send. */
export interface LibpodContainerSpec {
  name: string;
  pod: string;
  image: string;
  raw_image_name?: string;
  entrypoint?: string[];
  command?: string[];
  work_dir?: string;
  env?: Record<string, string>;
  unsetenvall?: boolean;
  httpproxy?: boolean;
  env_host?: boolean;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  terminal?: boolean;
  stdin?: boolean;
  user?: string;
  groups?: string[];
  privileged?: boolean;
  cap_add?: string[];
  cap_drop?: string[];
  no_new_privileges?: boolean;
  read_only_filesystem?: boolean;
  seccomp_profile_path?: string;
  /** An AppArmor profile loaded on the host, or "unconfined". */
  apparmor_profile?: string;
  mask?: string[];
  unmask?: string[];
  stop_signal?: number;
  mounts?: { destination: string; source: string; type: string; options: string[] }[];
  devices?: { path: string }[];
  pidns?: LibpodNamespace;
  ipcns?: LibpodNamespace;
  /** Network namespace: set only to join a path (a node's host-network pod); otherwise the pod's. */
  netns?: LibpodNamespace;
  oci_runtime?: string;
  log_configuration?: { driver: string; path?: string };
  resource_limits?: Record<string, unknown>;
  oom_score_adj?: number;
}

/** `GET /libpod/containers/json` item. */
export interface LibpodContainerListItem {
  Id: string;
  Names?: string[] | null;
  Created: string;
  State: string;
  Image?: string;
  ImageID?: string;
  Labels?: Record<string, string> | null;
  Pod?: string;
  IsInfra?: boolean;
  ExitCode?: number;
}
