/**
 * The one generic adapter between a CRI call and its handler, free of any transport: it builds the call's context
 * (client cancel and deadline as one AbortSignal), refuses a request that did not decode, runs the handler, maps
 * errors once (status.ts), logs the outcome, counts it in the metrics (method, code, latency) and tells the shutdown
 * tracker. grpc-js calls reach it through `server.ts`; in-process tests call it directly, so they take the same path
 * as kubelet's calls.
 * @module
 */
import type { DescMessage, MessageShape } from "@bufbuild/protobuf";
import type { GenService, GenServiceMethods } from "@bufbuild/protobuf/codegenv2";
import type { RpcContext, ServiceDeps } from "../cri/context.ts";
import type { ServiceHandlers } from "../cri/handler_types.ts";
import { CriError } from "../errors.ts";
import { CallTrace, withTrace } from "../observability/call_trace.ts";
import type { CallTracker } from "./call_tracker.ts";
import { UndecodableRequest } from "./service_definition.ts";
import { type GrpcFailure, toGrpcFailure } from "./status.ts";

/** What the transport tells the adapter about one call. */
export interface CallControl {
  /** Aborted when the client cancels the call. */
  readonly cancelled: AbortSignal;
  /** The call's deadline in ms since the epoch, when it has one. */
  readonly deadlineMs: number | undefined;
}

/** A unary handler of any RPC, as the adapter sees it. */
export type AnyUnaryHandler = (ctx: RpcContext, req: unknown) => Promise<unknown>;
/** A server-streaming handler of any RPC, as the adapter sees it. */
export type AnyStreamingHandler = (ctx: RpcContext, req: unknown) => AsyncIterable<unknown>;

/** One RPC of a service: its name, its kind and its handler. */
export type BoundMethod =
  | { rpc: string; localName: string; kind: "unary"; handler: AnyUnaryHandler }
  | { rpc: string; localName: string; kind: "server_streaming"; handler: AnyStreamingHandler };

/** Pairs each method of `service` with its handler from `handlers` (a missing handler is a type error there). */
export function bindMethods<S extends GenServiceMethods>(
  service: GenService<S>,
  handlers: ServiceHandlers<GenService<S>, RpcContext>,
): BoundMethod[] {
  return service.methods.map((method) => {
    const handler = handlers[method.localName as keyof S] as unknown as (
      ctx: RpcContext,
      req: MessageShape<DescMessage>,
    ) => unknown;
    return method.methodKind === "server_streaming"
      ? {
        rpc: method.name,
        localName: method.localName,
        kind: "server_streaming",
        handler: handler as AnyStreamingHandler,
      }
      : { rpc: method.name, localName: method.localName, kind: "unary", handler: handler as AnyUnaryHandler };
  });
}

/** Where the adapter finds what lives longer than a call. */
export interface DispatchDeps {
  deps: ServiceDeps;
  tracker?: CallTracker | undefined;
}

/** Runs one unary call; resolves with the response or the gRPC failure the client is to see. Never rejects. */
export async function dispatchUnary(
  method: { rpc: string; handler: AnyUnaryHandler },
  request: unknown,
  control: CallControl,
  { deps, tracker }: DispatchDeps,
): Promise<{ response: unknown } | { failure: GrpcFailure }> {
  const { ctx, done, abort } = callContext(method.rpc, control, deps, tracker);
  const started = performance.now();
  // Traced only when the debug line that shows the trace is written: the trace costs every await of the call.
  const trace = deps.log.enabled("debug") ? new CallTrace() : undefined;
  const outcome = new Promise<unknown>((resolve) =>
    resolve(
      trace
        ? withTrace(trace, () => method.handler(ctx, decoded(method.rpc, request)))
        : method.handler(ctx, decoded(method.rpc, request)),
    )
  );
  tracker?.track({ rpc: method.rpc, started, abort, settled: outcome.then(() => {}, () => {}) });
  try {
    const response = await outcome;
    const ms = performance.now() - started;
    if (trace) deps.log.debug("call", { rpc: method.rpc, ms: round(ms), podman: trace.summary() });
    deps.metrics?.rpc(method.rpc, "OK", ms / 1000);
    return { response };
  } catch (err) {
    const failure = toGrpcFailure(err);
    finishFailed(deps, method.rpc, failure.error, performance.now() - started);
    return { failure };
  } finally {
    done();
  }
}

/**
 * Runs one server-streaming call: `write` gets each message (and is awaited: it carries back-pressure); resolves
 * with the failure to end the stream with, or undefined after the last message. Never rejects.
 */
export async function dispatchServerStreaming(
  method: { rpc: string; handler: AnyStreamingHandler },
  request: unknown,
  control: CallControl,
  write: (message: unknown) => Promise<void>,
  { deps, tracker }: DispatchDeps,
): Promise<GrpcFailure | undefined> {
  const { ctx, done, abort } = callContext(method.rpc, control, deps, tracker);
  const started = performance.now();
  const run = (async () => {
    for await (const message of method.handler(ctx, decoded(method.rpc, request))) {
      if (ctx.signal.aborted) break;
      await write(message);
    }
  })();
  tracker?.track({ rpc: method.rpc, started, abort, settled: run.then(() => {}, () => {}) });
  try {
    await run;
    deps.metrics?.rpc(method.rpc, "OK", (performance.now() - started) / 1000);
    return undefined;
  } catch (err) {
    const failure = toGrpcFailure(err);
    finishFailed(deps, method.rpc, failure.error, performance.now() - started);
    return failure;
  } finally {
    done();
  }
}

/**
 * Builds the context of one call: its signal aborts on client cancel or when the deadline passes. Once the shutdown
 * has begun cutting calls, a closing connection is the shutdown's doing, and the tracker decides.
 */
function callContext(
  rpc: string,
  control: CallControl,
  deps: ServiceDeps,
  tracker: CallTracker | undefined,
): { ctx: RpcContext; done: () => void; abort: (reason: CriError) => void } {
  const controller = new AbortController();
  const onCancel = () => {
    if (tracker?.shuttingDown) return;
    controller.abort(new CriError("Canceled", `${rpc} was canceled by the client`));
  };
  if (control.cancelled.aborted) onCancel();
  else control.cancelled.addEventListener("abort", onCancel, { once: true });
  let timer: ReturnType<typeof setTimeout> | undefined;
  if (control.deadlineMs !== undefined && Number.isFinite(control.deadlineMs)) {
    timer = setTimeout(
      () => controller.abort(new CriError("DeadlineExceeded", `${rpc} exceeded its deadline`)),
      Math.max(0, control.deadlineMs - Date.now()),
    );
  }
  const ctx: RpcContext = { ...deps, signal: controller.signal };
  return {
    ctx,
    done: () => {
      if (timer !== undefined) clearTimeout(timer);
      control.cancelled.removeEventListener("abort", onCancel);
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

/** Logs a failed call and counts it under its code (`NotFound`, …: the names of errors.ts, as grpc-go spells them). */
function finishFailed(deps: ServiceDeps, rpc: string, error: CriError, ms: number): void {
  deps.metrics?.rpc(rpc, error.code, ms / 1000);
  const fields = { rpc, code: error.code, error: error.message, ms: round(ms) };
  if (error.code === "Unknown" || error.code === "Internal") {
    deps.log.error("call failed", { ...fields, cause: describeCause(error.cause) });
  } else if (error.code === "Unimplemented" || error.code === "NotFound") {
    deps.log.debug("call failed", fields);
  } else {
    deps.log.warn("call failed", fields);
  }
}

/** The detail of an unclassified failure, for the log (never sent): a stack, or Podman's whole answer. */
function describeCause(cause: unknown): string {
  if (cause instanceof Error) return String(cause.stack ?? cause);
  if (typeof cause === "string") return cause.slice(0, 4_000);
  try {
    return JSON.stringify(cause)?.slice(0, 4_000) ?? String(cause);
  } catch {
    return String(cause);
  }
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}
