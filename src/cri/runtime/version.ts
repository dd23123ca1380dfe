import type { VersionRequest, VersionResponseSchema } from "../../gen/runtime/v1/api_pb.ts";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { CRI_API_VERSION, CRI_PODMAN_VERSION, KUBELET_API_VERSION, RUNTIME_NAME } from "../../version.ts";
import type { RpcContext } from "../context.ts";

/**
 * Version returns the runtime name, its version and the CRI API version. Answered without a Podman round trip, so
 * it stays cheap for kubelet's start-up and health checks; Podman's version is in Status's verbose info.
 */
export function version(
  _ctx: RpcContext,
  _req: VersionRequest,
): Promise<MessageInitShape<typeof VersionResponseSchema>> {
  return Promise.resolve({
    version: KUBELET_API_VERSION,
    runtimeName: RUNTIME_NAME,
    runtimeVersion: CRI_PODMAN_VERSION,
    runtimeApiVersion: CRI_API_VERSION,
  });
}
