import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { create, isMessage } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import {
  ContainerEventResponseSchema,
  ContainerEventType,
  ImageService,
  RemoveImageRequestSchema,
  RuntimeService,
  StopContainerResponseSchema,
  StreamImagesRequestSchema,
  VersionRequestSchema,
  VersionResponseSchema,
} from "../gen/runtime/v1/api_pb.ts";
import { type MethodNamesOfKind, type ServiceHandlers, toGrpcServiceDefinition } from "./service_definition.ts";

// RPCs of cri-api v0.36.3 in proto order, with whether the server streams; written out here so the test
// does not trust the generator it checks.
const RUNTIME_RPCS: ReadonlyArray<readonly [string, boolean]> = [
  ["Version", false],
  ["RunPodSandbox", false],
  ["StopPodSandbox", false],
  ["RemovePodSandbox", false],
  ["PodSandboxStatus", false],
  ["ListPodSandbox", false],
  ["StreamPodSandboxes", true],
  ["CreateContainer", false],
  ["StartContainer", false],
  ["StopContainer", false],
  ["RemoveContainer", false],
  ["ListContainers", false],
  ["StreamContainers", true],
  ["ContainerStatus", false],
  ["UpdateContainerResources", false],
  ["ReopenContainerLog", false],
  ["ExecSync", false],
  ["Exec", false],
  ["Attach", false],
  ["PortForward", false],
  ["ContainerStats", false],
  ["ListContainerStats", false],
  ["StreamContainerStats", true],
  ["PodSandboxStats", false],
  ["ListPodSandboxStats", false],
  ["StreamPodSandboxStats", true],
  ["UpdateRuntimeConfig", false],
  ["Status", false],
  ["CheckpointContainer", false],
  ["GetContainerEvents", true],
  ["ListMetricDescriptors", false],
  ["ListPodSandboxMetrics", false],
  ["StreamPodSandboxMetrics", true],
  ["RuntimeConfig", false],
  ["UpdatePodSandboxResources", false],
];

const IMAGE_RPCS: ReadonlyArray<readonly [string, boolean]> = [
  ["ListImages", false],
  ["StreamImages", true],
  ["ImageStatus", false],
  ["PullImage", false],
  ["RemoveImage", false],
  ["ImageFsInfo", false],
];

/** `RunPodSandbox` → `runPodSandbox`, the key protobuf-es and our handler maps use. */
const lowerFirst = (name: string) => name.charAt(0).toLowerCase() + name.slice(1);

function assertMaps(
  definition: grpc.ServiceDefinition,
  serviceName: string,
  rpcs: ReadonlyArray<readonly [string, boolean]>,
): void {
  assert.deepEqual(Object.keys(definition), rpcs.map(([name]) => lowerFirst(name)));
  for (const [name, serverStreams] of rpcs) {
    const method = definition[lowerFirst(name)];
    assert.ok(method, name);
    assert.equal(method.path, `/runtime.v1.${serviceName}/${name}`);
    assert.equal(method.originalName, name);
    assert.equal(method.requestStream, false, `${name} requestStream`);
    assert.equal(method.responseStream, serverStreams, `${name} responseStream`);
  }
}

Deno.test("toGrpcServiceDefinition() maps every RuntimeService RPC", () => {
  assert.equal(RUNTIME_RPCS.length, 35);
  assertMaps(toGrpcServiceDefinition(RuntimeService), "RuntimeService", RUNTIME_RPCS);
});

Deno.test("toGrpcServiceDefinition() maps every ImageService RPC", () => {
  assert.equal(IMAGE_RPCS.length, 6);
  assertMaps(toGrpcServiceDefinition(ImageService), "ImageService", IMAGE_RPCS);
  assert.equal(RUNTIME_RPCS.length + IMAGE_RPCS.length, 41);
});

Deno.test("toGrpcServiceDefinition() round-trips requests and responses through Buffers", () => {
  const { version } = toGrpcServiceDefinition(RuntimeService);
  const wire = version.requestSerialize(create(VersionRequestSchema, { version: "v1" }));
  assert.ok(Buffer.isBuffer(wire));
  assert.deepEqual([...wire], [0x0a, 0x02, 0x76, 0x31]); // field 1, LEN, "v1"
  const request = version.requestDeserialize(wire);
  assert.ok(isMessage(request, VersionRequestSchema));
  assert.equal(request.version, "v1");

  const response = create(VersionResponseSchema, {
    version: "0.1.0",
    runtimeName: "cri-podman",
    runtimeVersion: "0.1.0",
    runtimeApiVersion: "v1",
  });
  assert.deepEqual(version.responseDeserialize(version.responseSerialize(response)), response);
});

Deno.test("toGrpcServiceDefinition() serializes plain init objects as responses", () => {
  const { stopContainer, getContainerEvents } = toGrpcServiceDefinition(RuntimeService);
  // Handlers may return `{}` (StopContainerResponse has no fields): it encodes to zero bytes.
  const empty = stopContainer.responseSerialize({});
  assert.equal(empty.length, 0);
  assert.ok(isMessage(stopContainer.responseDeserialize(empty), StopContainerResponseSchema));

  const event = getContainerEvents.responseDeserialize(
    getContainerEvents.responseSerialize(
      { containerId: "c1", containerEventType: ContainerEventType.CONTAINER_STOPPED_EVENT, createdAt: 5n },
    ),
  );
  assert.deepEqual(
    event,
    create(ContainerEventResponseSchema, {
      containerId: "c1",
      containerEventType: ContainerEventType.CONTAINER_STOPPED_EVENT,
      createdAt: 5n,
    }),
  );
});

Deno.test("toGrpcServiceDefinition() serves unary and server-streaming RPCs through grpc-js", async () => {
  const dir = await Deno.makeTempDir({ prefix: "cri-podman-svcdef-" });
  const address = `unix://${dir}/cri.sock`;
  const definition = toGrpcServiceDefinition(RuntimeService);
  const server = new grpc.Server();
  server.addService(definition, {
    version: (call: grpc.ServerUnaryCall<{ version: string }, unknown>, callback: grpc.sendUnaryData<unknown>) =>
      callback(null, { version: call.request.version, runtimeName: "cri-podman" }),
    getContainerEvents: (call: grpc.ServerWritableStream<unknown, unknown>) => {
      call.write({ containerId: "a", containerEventType: ContainerEventType.CONTAINER_CREATED_EVENT });
      call.write({ containerId: "b", containerEventType: ContainerEventType.CONTAINER_STARTED_EVENT });
      call.end();
    },
  });
  const Client = grpc.makeGenericClientConstructor(definition, "RuntimeService");
  let client: grpc.Client | undefined;
  try {
    await new Promise<void>((resolve, reject) =>
      server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve()))
    );
    client = new Client(address, grpc.credentials.createInsecure());
    const rpc = client as unknown as Record<string, (...args: unknown[]) => unknown>;

    const version = await new Promise<unknown>((resolve, reject) =>
      rpc.version!(
        create(VersionRequestSchema, { version: "v1" }),
        (err: Error | null, res: unknown) => err ? reject(err) : resolve(res),
      )
    );
    assert.ok(isMessage(version, VersionResponseSchema));
    assert.equal(version.version, "v1");
    assert.equal(version.runtimeName, "cri-podman");

    const stream = rpc.getContainerEvents!({}) as grpc.ClientReadableStream<unknown>;
    const ids: string[] = [];
    for await (const event of stream) {
      assert.ok(isMessage(event, ContainerEventResponseSchema));
      ids.push(event.containerId);
    }
    assert.deepEqual(ids, ["a", "b"]);

    const unimplemented = await new Promise<grpc.ServiceError>((resolve) =>
      rpc.status!({}, (err: grpc.ServiceError) => resolve(err))
    );
    assert.equal(unimplemented.code, grpc.status.UNIMPLEMENTED);
  } finally {
    client?.close();
    await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("ServiceHandlers types each RPC by its kind", async () => {
  type Ctx = { signal: AbortSignal };
  // A type-level check as much as a run-time one: wrong request/response shapes fail `deno check`.
  const handlers: Pick<ServiceHandlers<typeof ImageService, Ctx>, "removeImage" | "streamImages"> = {
    removeImage: (_ctx, req) => Promise.resolve(req.image?.image === "busybox" ? {} : {}),
    async *streamImages(_ctx, _req) {
      yield { images: [{ id: "sha256:1", repoTags: ["busybox:latest"], size: 10n }] };
    },
  };
  const ctx = { signal: new AbortController().signal };
  const unary: MethodNamesOfKind<typeof ImageService, "unary">[] = ["listImages", "imageStatus", "pullImage"];
  const streaming: MethodNamesOfKind<typeof ImageService, "server_streaming">[] = ["streamImages"];
  assert.deepEqual([unary.length, streaming.length], [3, 1]);
  assert.deepEqual(await handlers.removeImage(ctx, create(RemoveImageRequestSchema)), {});
  const batches = [];
  for await (const batch of handlers.streamImages(ctx, create(StreamImagesRequestSchema))) batches.push(batch);
  assert.equal(batches[0]?.images?.[0]?.repoTags?.[0], "busybox:latest");
});
