/**
 * The RuntimeService of CRI v1, every RPC in proto order: the table of contents of the runtime. RPCs not served yet
 * answer UNIMPLEMENTED naming themselves (README, "CRI coverage").
 * @module
 */
import type { RuntimeService } from "../gen/runtime/v1/api_pb.ts";
import type { ServiceHandlers } from "./handler_types.ts";
import type { RpcContext } from "./context.ts";
import { runPodSandbox } from "./sandbox/run_pod_sandbox.ts";
import { stopPodSandbox } from "./sandbox/stop_pod_sandbox.ts";
import { removePodSandbox } from "./sandbox/remove_pod_sandbox.ts";
import { podSandboxStatus } from "./sandbox/pod_sandbox_status.ts";
import { listPodSandbox } from "./sandbox/list_pod_sandbox.ts";
import { updatePodSandboxResources } from "./sandbox/update_pod_sandbox_resources.ts";
import { streamPodSandboxes } from "./sandbox/stream_pod_sandboxes.ts";
import { createContainer } from "./container/create_container.ts";
import { startContainer } from "./container/start_container.ts";
import { stopContainer } from "./container/stop_container.ts";
import { removeContainer } from "./container/remove_container.ts";
import { listContainers } from "./container/list_containers.ts";
import { containerStatus } from "./container/container_status.ts";
import { updateContainerResources } from "./container/update_container_resources.ts";
import { streamContainers } from "./container/stream_containers.ts";
import { getContainerEvents } from "./container/get_container_events.ts";
import { execSync } from "./container/exec_sync.ts";
import { exec } from "./container/exec.ts";
import { attach } from "./container/attach.ts";
import { portForward } from "./sandbox/port_forward.ts";
import { reopenContainerLog } from "./container/reopen_container_log.ts";
import { runtimeConfig } from "./runtime/runtime_config.ts";
import { status } from "./runtime/status.ts";
import { updateRuntimeConfig } from "./runtime/update_runtime_config.ts";
import { version } from "./runtime/version.ts";
import { containerStats } from "./stats/container_stats.ts";
import { listContainerStats } from "./stats/list_container_stats.ts";
import { streamContainerStats } from "./stats/stream_container_stats.ts";
import { podSandboxStats } from "./stats/pod_sandbox_stats.ts";
import { listPodSandboxStats } from "./stats/list_pod_sandbox_stats.ts";
import { streamPodSandboxStats } from "./stats/stream_pod_sandbox_stats.ts";
import { listMetricDescriptors } from "./stats/list_metric_descriptors.ts";
import { listPodSandboxMetrics } from "./stats/list_pod_sandbox_metrics.ts";
import { streamPodSandboxMetrics } from "./stats/stream_pod_sandbox_metrics.ts";
import { unimplemented } from "./unimplemented.ts";

/** Handlers of runtime.v1.RuntimeService. */
export const runtimeServiceHandlers: ServiceHandlers<typeof RuntimeService, RpcContext> = {
  version,
  runPodSandbox,
  stopPodSandbox,
  removePodSandbox,
  podSandboxStatus,
  listPodSandbox,
  streamPodSandboxes,
  createContainer,
  startContainer,
  stopContainer,
  removeContainer,
  listContainers,
  streamContainers,
  containerStatus,
  updateContainerResources,
  reopenContainerLog,
  execSync,
  exec,
  attach,
  portForward,
  containerStats,
  listContainerStats,
  streamContainerStats,
  podSandboxStats,
  listPodSandboxStats,
  streamPodSandboxStats,
  updateRuntimeConfig,
  status,
  checkpointContainer: unimplemented("CheckpointContainer"),
  getContainerEvents,
  listMetricDescriptors,
  listPodSandboxMetrics,
  streamPodSandboxMetrics,
  runtimeConfig,
  updatePodSandboxResources,
};

/**
 * RPCs a shutdown finishes rather than cuts when its grace runs out: each sends Podman a change of a sandbox's or
 * container's lifecycle, and cut mid-way (with the embedded Podman stopped right after) it leaves the object
 * half-changed, e.g. a container in Podman's "stopping" state. Everything else is safe to cancel and retry.
 */
export const FINISH_ON_SHUTDOWN: ReadonlySet<string> = new Set([
  "RunPodSandbox",
  "StopPodSandbox",
  "RemovePodSandbox",
  "CreateContainer",
  "StartContainer",
  "StopContainer",
  "RemoveContainer",
]);
