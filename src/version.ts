/** cri-podman's own version, the CRI API it speaks, and the version kubelet expects in VersionResponse.version. */
export const CRI_PODMAN_VERSION = "0.1.0";
/** The CRI API this build serves (package runtime.v1 of cri-api v0.36.x, Kubernetes 1.36). */
export const CRI_API_VERSION = "v1";
/** The kubelet runtime API version string every CRI runtime reports. */
export const KUBELET_API_VERSION = "0.1.0";
/** The runtime name reported to kubelet and crictl. */
export const RUNTIME_NAME = "cri-podman";
/**
 * The V8 flags cri-podman is started with (scripts/start.sh, `deno task start`, `deno task compile`, and the test
 * harness; a test checks they agree). A young generation of 1 MiB and an old generation capped at 128 MiB keep the
 * server's RSS near 120 MiB under 32 clients, where V8's defaults let it grow past 250 MiB (bench/reads.ts), for
 * ~10 % less throughput at that load; the live heap at 110 pods is a small part of the cap.
 */
export const V8_FLAGS = "--max-semi-space-size=1,--max-old-space-size=128";
