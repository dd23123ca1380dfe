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
