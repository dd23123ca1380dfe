/**
 * The only module that knows under which Podman labels cri-podman keeps CRI facts. Pods have labels but no
 * annotations (Podman 4.3), so every fact kubelet handed us lives in labels, and a restart loses nothing.
 * @module
 */

/** Marks every Podman object cri-podman created; nothing without it is ever listed. */
export const MANAGED = "io.cri-podman.managed";
/** What a Podman object is to the CRI: "sandbox" (a pod), "container", "network" or "netns-keeper". */
export const KIND = "io.cri-podman.kind";
/** The whole CRI PodSandboxConfig as protobuf JSON: metadata, labels, annotations, log directory, DNS, ports, … */
export const SANDBOX_CONFIG = "io.cri-podman.sandbox-config";
/** The RuntimeClass handler the sandbox was created with ("" = default). */
export const RUNTIME_HANDLER = "io.cri-podman.runtime-handler";

/** A container's whole CRI ContainerConfig as protobuf JSON. */
export const CONTAINER_CONFIG = "io.cri-podman.container-config";
/** The sandbox (Podman pod) ID a container belongs to. */
export const CONTAINER_SANDBOX_ID = "io.cri-podman.sandbox-id";
/** A container's absolute CRI log path ("" without one). */
export const CONTAINER_LOG_PATH = "io.cri-podman.log-path";
/** The image ID a container was created from. */
export const CONTAINER_IMAGE_ID = "io.cri-podman.image-id";

/** The label filter that selects every sandbox cri-podman created. */
export const SANDBOX_FILTER: readonly string[] = [`${MANAGED}=true`, `${KIND}=sandbox`];

/** Labels of a sandbox's Podman pod. */
export function sandboxLabels(configJson: string, runtimeHandler: string): Record<string, string> {
  return { [MANAGED]: "true", [KIND]: "sandbox", [SANDBOX_CONFIG]: configJson, [RUNTIME_HANDLER]: runtimeHandler };
}

/** The label filter that selects every container cri-podman created. */
export const CONTAINER_FILTER: readonly string[] = [`${MANAGED}=true`, `${KIND}=container`];

/** Labels of a container. */
export function containerLabels(
  configJson: string,
  sandboxId: string,
  logPath: string,
  imageId: string,
): Record<string, string> {
  return {
    [MANAGED]: "true",
    [KIND]: "container",
    [CONTAINER_CONFIG]: configJson,
    [CONTAINER_SANDBOX_ID]: sandboxId,
    [CONTAINER_LOG_PATH]: logPath,
    [CONTAINER_IMAGE_ID]: imageId,
  };
}

/** Labels of the bridge network cri-podman owns. */
export function networkLabels(): Record<string, string> {
  return { [MANAGED]: "true", [KIND]: "network" };
}

/** Labels of the pod that keeps Podman's rootless network namespace alive (see translate/sandbox.ts). */
export function netnsKeeperLabels(): Record<string, string> {
  return { [MANAGED]: "true", [KIND]: "netns-keeper" };
}
