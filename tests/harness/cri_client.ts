/**
 * A typed CRI client for tests and benchmarks: grpc-js over the CRI unix socket, one promise-returning method per
 * unary RPC, built from the same generated descriptors the server uses.
 * @module
 */
import * as grpc from "@grpc/grpc-js";
import type { MessageInitShape, MessageShape } from "@bufbuild/protobuf";
import type { GenService, GenServiceMethods } from "@bufbuild/protobuf/codegenv2";
import { ImageService, RuntimeService } from "../../src/gen/runtime/v1/api_pb.ts";
import { toGrpcServiceDefinition } from "../../src/grpc/service_definition.ts";

/** Per-call options. */
export interface CallOptions {
  /** Deadline from now, in ms (default 60 s). */
  timeoutMs?: number;
}

/** One async method per unary RPC of `S`, taking init objects and options `O`, resolving to decoded messages. */
export type UnaryClient<S extends GenServiceMethods, O = CallOptions> = {
  [K in keyof S as S[K]["methodKind"] extends "unary" ? K : never]: (
    req?: MessageInitShape<S[K]["input"]>,
    opts?: O,
  ) => Promise<MessageShape<S[K]["output"]>>;
};

/** A client of both CRI services on one connection each. */
export interface CriClient {
  runtime: UnaryClient<typeof RuntimeService.method>;
  image: UnaryClient<typeof ImageService.method>;
  /** Collects a server-streaming RPC of either service into an array. */
  stream<T>(service: "runtime" | "image", localName: string, req?: unknown, opts?: CallOptions): Promise<T[]>;
  close(): void;
}

/** The error a failed call rejects with (grpc-js ServiceError). */
export type CallError = grpc.ServiceError;

/** Connects to the CRI socket at `socketPath`; `authority` overrides the HTTP/2 :authority grpc-js sends. */
export function connectCri(socketPath: string, opts: { authority?: string } = {}): CriClient {
  const options: grpc.ChannelOptions = {
    "grpc.max_receive_message_length": 64 * 1024 * 1024,
    ...(opts.authority ? { "grpc.default_authority": opts.authority } : {}),
  };
  const raw = {
    runtime: makeRaw(RuntimeService, socketPath, options),
    image: makeRaw(ImageService, socketPath, options),
  };
  return {
    runtime: wrap(RuntimeService, raw.runtime) as CriClient["runtime"],
    image: wrap(ImageService, raw.image) as CriClient["image"],
    stream: <T>(service: "runtime" | "image", localName: string, req: unknown = {}, callOpts: CallOptions = {}) =>
      new Promise<T[]>((resolve, reject) => {
        const out: T[] = [];
        const fn = (raw[service] as unknown as Record<string, (...args: unknown[]) => grpc.ClientReadableStream<T>>)[
          localName
        ]!;
        const call = fn.call(raw[service], req, new grpc.Metadata(), callOptions(callOpts));
        call.on("data", (m: T) => out.push(m));
        call.on("error", reject);
        call.on("end", () => resolve(out));
      }),
    close: () => {
      raw.runtime.close();
      raw.image.close();
    },
  };
}

function makeRaw<S extends GenServiceMethods>(
  service: GenService<S>,
  socketPath: string,
  options: grpc.ChannelOptions,
): grpc.Client {
  const Ctor = grpc.makeGenericClientConstructor(
    toGrpcServiceDefinition(service) as unknown as grpc.ServiceDefinition,
    service.name,
  );
  return new Ctor(`unix://${socketPath}`, grpc.credentials.createInsecure(), options);
}

/** Deadline of a call that sets none: a hung call fails its test instead of stalling the suite. */
const DEFAULT_TIMEOUT_MS = 60_000;

function callOptions(opts: CallOptions): grpc.CallOptions {
  return { deadline: new Date(Date.now() + (opts.timeoutMs ?? DEFAULT_TIMEOUT_MS)) };
}

function wrap<S extends GenServiceMethods>(service: GenService<S>, client: grpc.Client): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const methods = client as unknown as Record<string, (...args: unknown[]) => unknown>;
  for (const method of service.methods) {
    if (method.methodKind !== "unary") continue;
    out[method.localName] = (req: unknown = {}, opts: CallOptions = {}) =>
      new Promise((resolve, reject) => {
        methods[method.localName]!.call(
          client,
          req,
          new grpc.Metadata(),
          callOptions(opts),
          (err: grpc.ServiceError | null, res: unknown) => (err ? reject(err) : resolve(res)),
        );
      });
  }
  return out;
}
