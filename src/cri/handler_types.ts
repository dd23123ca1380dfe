/**
 * The shape of CRI handlers, derived from the generated service descriptors: one plain async function (or async
 * iterable, for server-streaming RPCs) per RPC, keyed by its localName. A missing or mistyped handler in a service
 * table is a type error. Transport-free: grpc/ adapts these to grpc-js.
 * @module
 */
import type { DescMethod, MessageInitShape, MessageShape } from "@bufbuild/protobuf";
import type { GenService, GenServiceMethods } from "@bufbuild/protobuf/codegenv2";

/** The method map of a generated service descriptor type: `MethodsOf<typeof RuntimeService>`. */
export type MethodsOf<Svc> = Svc extends GenService<infer S> ? S : never;

/** localNames of the methods of a service whose kind is `Kind`: `MethodNamesOfKind<typeof ImageService, "unary">`. */
export type MethodNamesOfKind<Svc, Kind extends DescMethod["methodKind"]> = {
  [K in keyof MethodsOf<Svc>]: MethodsOf<Svc>[K]["methodKind"] extends Kind ? K : never;
}[keyof MethodsOf<Svc>];

/** A unary handler: a plain async function of a context and the decoded request. */
export type UnaryHandler<M extends GenServiceMethods[string], Ctx> = (
  ctx: Ctx,
  req: MessageShape<M["input"]>,
) => Promise<MessageInitShape<M["output"]>>;

/** A server-streaming handler: yields responses; the stream ends when the iterable does. */
export type ServerStreamingHandler<M extends GenServiceMethods[string], Ctx> = (
  ctx: Ctx,
  req: MessageShape<M["input"]>,
) => AsyncIterable<MessageInitShape<M["output"]>>;

/** Every RPC of a service as a handler keyed by localName (`ServiceHandlers<typeof RuntimeService, RpcContext>`). */
export type ServiceHandlers<Svc, Ctx> = {
  [K in keyof MethodsOf<Svc>]: MethodsOf<Svc>[K]["methodKind"] extends "unary" ? UnaryHandler<MethodsOf<Svc>[K], Ctx>
    : MethodsOf<Svc>[K]["methodKind"] extends "server_streaming" ? ServerStreamingHandler<MethodsOf<Svc>[K], Ctx>
    : never; // CRI has no client-streaming or bidi RPCs
};
