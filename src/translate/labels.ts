/**
 * The only module that knows under which Podman labels cri-podman keeps CRI facts. Pods have labels but no
 * annotations (Podman 4.3), so every fact kubelet handed us lives in labels, and a restart loses nothing.
 * @module
 */

/** Marks every Podman object cri-podman created; nothing without it is ever listed. */
export const MANAGED = "io.cri-podman.managed";
/** What a Podman object is to the CRI: "sandbox" (a pod) or "container". */
export const KIND = "io.cri-podman.kind";
/** The whole CRI PodSandboxConfig as protobuf JSON: metadata, labels, annotations, log directory, DNS, ports, … */
export const SANDBOX_CONFIG = "io.cri-podman.sandbox-config";
/** The RuntimeClass handler the sandbox was created with ("" = default). */
export const RUNTIME_HANDLER = "io.cri-podman.runtime-handler";

/** The label filter that selects every sandbox cri-podman created. */
export const SANDBOX_FILTER: readonly string[] = [`${MANAGED}=true`, `${KIND}=sandbox`];

/** Labels of a sandbox's Podman pod. */
export function sandboxLabels(configJson: string, runtimeHandler: string): Record<string, string> {
  return { [MANAGED]: "true", [KIND]: "sandbox", [SANDBOX_CONFIG]: configJson, [RUNTIME_HANDLER]: runtimeHandler };
}

/** Labels of the bridge network cri-podman owns. */
export function networkLabels(): Record<string, string> {
  return { [MANAGED]: "true", [KIND]: "network" };
}
