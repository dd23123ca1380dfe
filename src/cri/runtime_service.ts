/**
 * The RuntimeService of CRI v1, every RPC in proto order: the table of contents of the runtime. RPCs not served yet
 * answer UNIMPLEMENTED naming themselves (README, "CRI coverage").
 * @module
 */
import type { RuntimeService } from "../gen/runtime/v1/api_pb.ts";
import type { ServiceHandlers } from "../grpc/service_definition.ts";
import type { RpcContext } from "./context.ts";
import { runtimeConfig } from "./runtime/runtime_config.ts";
import { status } from "./runtime/status.ts";
import { updateRuntimeConfig } from "./runtime/update_runtime_config.ts";
import { version } from "./runtime/version.ts";
import { unimplemented, unimplementedStream } from "./unimplemented.ts";

/** Handlers of runtime.v1.RuntimeService. */
export const runtimeServiceHandlers: ServiceHandlers<typeof RuntimeService.method, RpcContext> = {
  version,
  runPodSandbox: unimplemented("RunPodSandbox"),
  stopPodSandbox: unimplemented("StopPodSandbox"),
  removePodSandbox: unimplemented("RemovePodSandbox"),
  podSandboxStatus: unimplemented("PodSandboxStatus"),
  listPodSandbox: unimplemented("ListPodSandbox"),
  streamPodSandboxes: unimplementedStream("StreamPodSandboxes"),
  createContainer: unimplemented("CreateContainer"),
  startContainer: unimplemented("StartContainer"),
  stopContainer: unimplemented("StopContainer"),
  removeContainer: unimplemented("RemoveContainer"),
  listContainers: unimplemented("ListContainers"),
  streamContainers: unimplementedStream("StreamContainers"),
  containerStatus: unimplemented("ContainerStatus"),
  updateContainerResources: unimplemented("UpdateContainerResources"),
  reopenContainerLog: unimplemented("ReopenContainerLog"),
  execSync: unimplemented("ExecSync"),
  exec: unimplemented("Exec"),
  attach: unimplemented("Attach"),
  portForward: unimplemented("PortForward"),
  containerStats: unimplemented("ContainerStats"),
  listContainerStats: unimplemented("ListContainerStats"),
  streamContainerStats: unimplementedStream("StreamContainerStats"),
  podSandboxStats: unimplemented("PodSandboxStats"),
  listPodSandboxStats: unimplemented("ListPodSandboxStats"),
  streamPodSandboxStats: unimplementedStream("StreamPodSandboxStats"),
  updateRuntimeConfig,
  status,
  checkpointContainer: unimplemented("CheckpointContainer"),
  getContainerEvents: unimplementedStream("GetContainerEvents"),
  listMetricDescriptors: unimplemented("ListMetricDescriptors"),
  listPodSandboxMetrics: unimplemented("ListPodSandboxMetrics"),
  streamPodSandboxMetrics: unimplementedStream("StreamPodSandboxMetrics"),
  runtimeConfig,
  updatePodSandboxResources: unimplemented("UpdatePodSandboxResources"),
};
