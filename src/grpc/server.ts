/**
 * The grpc-js side of serving the CRI: one server with the handler tables registered through the generic adapter
 * (dispatch.ts), listening on a unix socket through our listener. The rest of the runtime never touches grpc-js.
 * @module
 */
import * as grpc from "@grpc/grpc-js";
import type { EventEmitter } from "node:events";
import type { GenService, GenServiceMethods } from "@bufbuild/protobuf/codegenv2";
import type { RpcContext, ServiceDeps } from "../cri/context.ts";
import type { ServiceHandlers } from "../cri/handler_types.ts";
import type { CallTracker } from "./call_tracker.ts";
import { bindMethods, type CallControl, dispatchServerStreaming, dispatchUnary } from "./dispatch.ts";
import { toGrpcServiceDefinition } from "./service_definition.ts";
import { serviceErrorOf } from "./status.ts";
import { listenUnix, type ListenUnixOptions, type UnixListener } from "./unix_listener.ts";

/** A service and its handler table, ready to be added to a server. */
export interface CriServiceBinding {
  /** Adds the service to `server`, its calls dispatched with `deps` and tracked by `tracker`. */
  addTo(server: grpc.Server, deps: ServiceDeps, tracker?: CallTracker): void;
}

/** Binds a generated service to its handler table (a missing or mistyped handler is a type error). */
export function criService<S extends GenServiceMethods>(
  service: GenService<S>,
  handlers: ServiceHandlers<GenService<S>, RpcContext>,
): CriServiceBinding {
  const methods = bindMethods(service, handlers);
  return {
    addTo(server, deps, tracker) {
      const implementation: grpc.UntypedServiceImplementation = {};
      for (const method of methods) {
        implementation[method.localName] = method.kind === "server_streaming"
          ? ((call: grpc.ServerWritableStream<unknown, unknown>) => {
            const control = callControl(call);
            const write = (message: unknown) =>
              call.write(message) ? Promise.resolve() : new Promise<void>((resolve) => call.once("drain", resolve));
            dispatchServerStreaming(method, call.request, control, write, { deps, tracker }).then((failure) => {
              // grpc-js sends the status of an error emitted on a server stream (destroy() would not).
              if (failure) call.emit("error", serviceErrorOf(failure));
              else call.end();
            });
          })
          : ((call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => {
            dispatchUnary(method, call.request, callControl(call), { deps, tracker }).then((outcome) => {
              if ("failure" in outcome) callback(serviceErrorOf(outcome.failure));
              else callback(null, outcome.response);
            });
          });
      }
      server.addService(toGrpcServiceDefinition(service) as unknown as grpc.ServiceDefinition, implementation);
    },
  };
}

/** Options of {@link serveCri}. */
export interface ServeCriOptions extends ListenUnixOptions {
  /** Knows every call in flight, for the shutdown. */
  tracker?: CallTracker;
}

/**
 * Serves `services` on the unix socket `path`: one grpc-js server, the listener in front of it. A socket that
 * cannot be had rejects and leaves nothing behind.
 */
export async function serveCri(
  path: string,
  services: readonly CriServiceBinding[],
  deps: ServiceDeps,
  opts: ServeCriOptions = {},
): Promise<UnixListener> {
  const server = new grpc.Server({
    "grpc.max_receive_message_length": 16 * 1024 * 1024,
    // ExecSync may answer 16 MiB of stdout plus 16 MiB of stderr (each capped there).
    "grpc.max_send_message_length": 40 * 1024 * 1024,
  });
  for (const service of services) service.addTo(server, deps, opts.tracker);
  try {
    return await listenUnix(server, path, opts);
  } catch (err) {
    server.forceShutdown();
    throw err;
  }
}

/** What grpc-js tells about a call: the client's cancel (its 'cancelled' event) and the deadline. */
function callControl(call: grpc.ServerUnaryCall<unknown, unknown> | grpc.ServerWritableStream<unknown, unknown>) {
  const cancelled = new AbortController();
  (call as unknown as EventEmitter).once("cancelled", () => cancelled.abort());
  const deadline = call.getDeadline();
  const deadlineMs = deadline instanceof Date ? deadline.getTime() : Number(deadline);
  return {
    cancelled: cancelled.signal,
    deadlineMs: Number.isFinite(deadlineMs) && deadlineMs > 0 ? deadlineMs : undefined,
  } satisfies CallControl;
}
