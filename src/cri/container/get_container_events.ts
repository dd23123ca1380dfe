import type { ContainerEventResponseSchema, GetEventsRequest } from "../../gen/runtime/v1/api_pb.ts";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { RpcContext } from "../context.ts";

/**
 * GetContainerEvents streams CREATED, STARTED, STOPPED and DELETED events of every container and sandbox (a sandbox's
 * events carry its ID as container_id), each with its sandbox's status and every container status of that sandbox,
 * as kubelet's Evented PLEG reads them (CRI api.proto, GetContainerEvents). The stream stays open while nothing
 * happens and ends when the client cancels it; a client that falls 1000 events behind is dropped with
 * RESOURCE_EXHAUSTED, and every stream ends with UNAVAILABLE when cri-podman stops. Fed by Podman's event stream
 * through the List cache (cri/container_event_source.ts).
 */
export function getContainerEvents(
  ctx: RpcContext,
  _req: GetEventsRequest,
): AsyncIterable<MessageInitShape<typeof ContainerEventResponseSchema>> {
  // Subscribed now, not at the first pull: nothing published between the call and its first read is lost.
  return ctx.containerEvents.subscribe(ctx.signal);
}
