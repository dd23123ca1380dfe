/**
 * Registers CRI handler tables on a grpc-js server through one generic adapter: it builds each call's context
 * (cancellation + deadline as an AbortSignal), runs the handler, maps errors once (status.ts) and logs the outcome.
 * @module
 */
import type * as grpc from "@grpc/grpc-js";
import type { EventEmitter } from "node:events";
import type { DescMessage, MessageShape } from "@bufbuild/protobuf";
import type { GenService, GenServiceMethods } from "@bufbuild/protobuf/codegenv2";
import type { RpcContext, ServiceDeps } from "../cri/context.ts";
import { CriError } from "../errors.ts";
import type { CallTracker } from "./call_tracker.ts";
import { type ServiceHandlers, toGrpcServiceDefinition, UndecodableRequest } from "./service_definition.ts";
import { toServiceError } from "./status.ts";

/**
 * Adds `service` to `server`, served by `handlers` with contexts built from `deps`; `tracker`, when given, knows every
 * call in flight (for the shutdown).
 */
export function addCriService<S extends GenServiceMethods>(
  server: grpc.Server,
  service: GenService<S>,
  handlers: ServiceHandlers<GenService<S>, RpcContext>,
  deps: ServiceDeps,
  tracker?: CallTracker,
): void {
  const definition = toGrpcServiceDefinition(service);
  const implementation: grpc.UntypedServiceImplementation = {};
  for (const method of service.methods) {
    const handler = handlers[method.localName as keyof S] as unknown as (
      ctx: RpcContext,
      req: MessageShape<DescMessage>,
    ) => unknown;
    implementation[method.localName] = method.methodKind === "server_streaming"
      ? serverStreaming(method.name, handler as StreamingFn, deps, tracker)
      : unary(method.name, handler as UnaryFn, deps, tracker);
  }
  server.addService(definition as unknown as grpc.ServiceDefinition, implementation);
}

type UnaryFn = (ctx: RpcContext, req: unknown) => Promise<unknown>;
type StreamingFn = (ctx: RpcContext, req: unknown) => AsyncIterable<unknown>;

function unary(
  rpc: string,
  handler: UnaryFn,
  deps: ServiceDeps,
  tracker: CallTracker | undefined,
): grpc.handleUnaryCall<unknown, unknown> {
  return (call, callback) => {
    const { ctx, done, abort } = callContext(rpc, call, deps, tracker);
    const started = performance.now();
    const outcome = new Promise<unknown>((resolve) => resolve(handler(ctx, decoded(rpc, call.request))));
    tracker?.track({ rpc, started, abort, settled: outcome.then(() => {}, () => {}) });
    outcome.then(
      (response) => {
        done();
        deps.log.debug("call", { rpc, ms: round(performance.now() - started) });
        callback(null, response);
      },
      (err) => {
        done();
        const { serviceError, error } = toServiceError(err);
        logFailure(deps, rpc, error, performance.now() - started);
        callback(serviceError);
      },
    );
  };
}

function serverStreaming(
  rpc: string,
  handler: StreamingFn,
  deps: ServiceDeps,
  tracker: CallTracker | undefined,
): grpc.handleServerStreamingCall<unknown, unknown> {
  return (call) => {
    const { ctx, done, abort } = callContext(rpc, call, deps, tracker);
    const started = performance.now();
    const settled = (async () => {
      try {
        for await (const message of handler(ctx, decoded(rpc, call.request))) {
          if (ctx.signal.aborted) break;
          if (!call.write(message)) await new Promise((resolve) => call.once("drain", resolve));
        }
        call.end();
      } catch (err) {
        const { serviceError, error } = toServiceError(err);
        logFailure(deps, rpc, error, 0);
        // grpc-js sends the status of an error emitted on a server stream (destroy() would not).
        call.emit("error", serviceError);
      } finally {
        done();
      }
    })();
    tracker?.track({ rpc, started, abort, settled });
  };
}

/**
 * Builds the context of one call: its signal aborts on client cancel or when the gRPC deadline passes. Once the
 * shutdown has begun cutting calls, a closing connection is the shutdown's doing, and the tracker decides.
 */
function callContext(
  rpc: string,
  call: grpc.ServerUnaryCall<unknown, unknown> | grpc.ServerWritableStream<unknown, unknown>,
  deps: ServiceDeps,
  tracker: CallTracker | undefined,
): { ctx: RpcContext; done: () => void; abort: (reason: CriError) => void } {
  const controller = new AbortController();
  const events = call as unknown as EventEmitter;
  const onCancel = () => {
    if (tracker?.shuttingDown) return;
    controller.abort(new CriError("Canceled", `${rpc} was canceled by the client`));
  };
  events.once("cancelled", onCancel);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = call.getDeadline();
  const deadlineMs = deadline instanceof Date ? deadline.getTime() : Number(deadline);
  if (Number.isFinite(deadlineMs) && deadlineMs > 0) {
    timer = setTimeout(
      () => controller.abort(new CriError("DeadlineExceeded", `${rpc} exceeded its deadline`)),
      Math.max(0, deadlineMs - Date.now()),
    );
  }
  const ctx: RpcContext = { ...deps, signal: controller.signal };
  return {
    ctx,
    done: () => {
      if (timer !== undefined) clearTimeout(timer);
      events.off("cancelled", onCancel);
    },
    abort: (reason) => controller.abort(reason),
  };
}

/** The request, or an INVALID_ARGUMENT error when its bytes were not a valid message. */
function decoded(rpc: string, request: unknown): unknown {
  if (request instanceof UndecodableRequest) {
    throw new CriError("InvalidArgument", `The ${rpc} request cannot be decoded: ${request.reason}`);
  }
  return request;
}

function logFailure(deps: ServiceDeps, rpc: string, error: CriError, ms: number): void {
  const fields = { rpc, code: error.code, error: error.message, ms: round(ms) };
  if (error.code === "Unknown" || error.code === "Internal") {
    deps.log.error("call failed", { ...fields, cause: String((error.cause as Error)?.stack ?? error.cause) });
  } else if (error.code === "Unimplemented" || error.code === "NotFound") {
    deps.log.debug("call failed", fields);
  } else {
    deps.log.warn("call failed", fields);
  }
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}
