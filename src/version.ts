/** cri-podman's own version, the CRI API it speaks, and the version kubelet expects in VersionResponse.version. */
export const CRI_PODMAN_VERSION = "0.1.0";
/** The CRI API this build serves (package runtime.v1 of cri-api v0.36.x, Kubernetes 1.36). */
export const CRI_API_VERSION = "v1";
/** The kubelet runtime API version string every CRI runtime reports. */
export const KUBELET_API_VERSION = "0.1.0";
/** The runtime name reported to kubelet and crictl. */
export const RUNTIME_NAME = "cri-podman";
