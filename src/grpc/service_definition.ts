/**
 * One generic bridge from protobuf-es service descriptors (src/gen/) to grpc-js service definitions, so no RPC
 * needs a hand-written wrapper: paths, streaming flags and (de)serializers all come from the embedded descriptor.
 * @module
 */
import { Buffer } from "node:buffer";
import {
  create,
  type DescMessage,
  fromBinary,
  type MessageInitShape,
  type MessageShape,
  toBinary,
} from "@bufbuild/protobuf";
import type { GenService, GenServiceMethods } from "@bufbuild/protobuf/codegenv2";
import type { MethodDefinition } from "@grpc/grpc-js";
import { encodedOnce } from "../cri/encode_once.ts";

/**
 * The grpc-js definition of one method: deserializers return messages, serializers also take plain init objects
 * (`{}` for an empty response), which they pass through `create()`.
 */
export interface GrpcMethodDefinition<M extends GenServiceMethods[string]>
  extends MethodDefinition<MessageShape<M["input"]>, MessageShape<M["output"]>> {
  /** Encodes a request (client side). */
  requestSerialize: (value: MessageInitShape<M["input"]>) => Buffer;
  /** Encodes a response (server side). */
  responseSerialize: (value: MessageInitShape<M["output"]>) => Buffer;
}

/** A grpc-js `ServiceDefinition` keyed by each method's localName (`runPodSandbox`); `originalName` is the RPC name. */
export type GrpcServiceDefinition<S extends GenServiceMethods> = {
  readonly [K in keyof S]: GrpcMethodDefinition<S[K]>;
};

export type {
  MethodNamesOfKind,
  MethodsOf,
  ServerStreamingHandler,
  ServiceHandlers,
  UnaryHandler,
} from "../cri/handler_types.ts";

/**
 * Encodes a message or init object; `create()` returns an existing message of the same type as is. A response marked
 * with `encodeOnce()` is encoded the first time only.
 */
function serializer<Desc extends DescMessage>(schema: Desc): (value: MessageInitShape<Desc>) => Buffer {
  return (value) => {
    const bytes = encodedOnce(value, (v) => toBinary(schema, create(schema, v)));
    // grpc-js wants a Node Buffer; wrap the bytes without copying them.
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  };
}

/** Decodes bytes (grpc-js hands a Buffer, which is a Uint8Array) into a message of `schema`. */
function deserializer<Desc extends DescMessage>(schema: Desc): (bytes: Uint8Array) => MessageShape<Desc> {
  return (bytes) => fromBinary(schema, bytes);
}

/**
 * A request body that is not a valid message. The server's request deserializer returns it instead of throwing:
 * grpc-js answers a throwing deserializer with INTERNAL, while a malformed request is the client's error
 * (INVALID_ARGUMENT), which the adapter in server.ts sends.
 */
export class UndecodableRequest {
  /** Why decoding failed. */
  readonly reason: string;
  /** Records the decoder's error. */
  constructor(err: unknown) {
    this.reason = err instanceof Error ? err.message : String(err);
  }
}

/** A request deserializer that returns {@link UndecodableRequest} for bytes that are not a message of `schema`. */
function lenientDeserializer<Desc extends DescMessage>(
  schema: Desc,
): (bytes: Uint8Array) => MessageShape<Desc> {
  return (bytes) => {
    try {
      return fromBinary(schema, bytes);
    } catch (err) {
      return new UndecodableRequest(err) as unknown as MessageShape<Desc>;
    }
  };
}

/**
 * toGrpcServiceDefinition() builds the grpc-js `ServiceDefinition` of a generated service, e.g. `RuntimeService`:
 * path `/runtime.v1.RuntimeService/Version`, binary (de)serializers from the schemas, streaming flags from the
 * method kind. Pass the result to `server.addService()` or `makeGenericClientConstructor()`.
 */
export function toGrpcServiceDefinition<S extends GenServiceMethods>(service: GenService<S>): GrpcServiceDefinition<S> {
  const definition: Record<string, GrpcMethodDefinition<GenServiceMethods[string]>> = {};
  for (const method of service.methods) {
    definition[method.localName] = {
      path: `/${service.typeName}/${method.name}`,
      requestStream: method.methodKind === "client_streaming" || method.methodKind === "bidi_streaming",
      responseStream: method.methodKind === "server_streaming" || method.methodKind === "bidi_streaming",
      requestSerialize: serializer(method.input),
      requestDeserialize: lenientDeserializer(method.input),
      responseSerialize: serializer(method.output),
      responseDeserialize: deserializer(method.output),
      originalName: method.name,
    };
  }
  return Object.freeze(definition) as GrpcServiceDefinition<S>;
}
