import assert from "node:assert/strict";
import { status } from "@grpc/grpc-js";
import { ImageService, RuntimeService } from "../gen/runtime/v1/api_pb.ts";
import { imageServiceHandlers } from "./image_service.ts";
import { runtimeServiceHandlers } from "./runtime_service.ts";
import { unimplemented, unimplementedStream } from "./unimplemented.ts";
import { startInProcessCri } from "../../tests/harness/in_process_cri.ts";
import { rejectsWith } from "../../tests/harness/handler_fixtures.ts";

/** Every handler `unimplemented()` and `unimplementedStream()` make has the same source: that tells them apart. */
const FROM_FACTORY = new Set([String(unimplemented("X")), String(unimplementedStream("X"))]);

/** The RPCs a service's handler table leaves unimplemented, from its descriptor: name, localName, kind. */
function unimplementedOf(
  service: "runtime" | "image",
  descriptor: typeof RuntimeService | typeof ImageService,
  handlers: Record<string, unknown>,
) {
  return descriptor.methods
    .filter((m) => FROM_FACTORY.has(String(handlers[m.localName])))
    .map((m) => ({ service, name: m.name, localName: m.localName, kind: m.methodKind }));
}

const UNIMPLEMENTED = [
  ...unimplementedOf("runtime", RuntimeService, runtimeServiceHandlers),
  ...unimplementedOf("image", ImageService, imageServiceHandlers),
];

Deno.test("unimplemented() handlers in the service tables are exactly the RPCs the service files list as such", async () => {
  assert.ok(UNIMPLEMENTED.length > 0, "no unimplemented RPC found: the detection is broken, or every RPC is done");
  // The tables' source, read as text: `exec: unimplemented("Exec")`, `getContainerEvents: unimplementedStream(…)`.
  const listed: string[] = [];
  for (const file of ["runtime_service.ts", "image_service.ts"]) {
    const text = await Deno.readTextFile(new URL(file, import.meta.url));
    for (const m of text.matchAll(/^\s*(\w+): (unimplemented|unimplementedStream)\("(\w+)"\),$/gm)) {
      listed.push(`${m[1]} ${m[2]} ${m[3]}`);
    }
  }
  const found = UNIMPLEMENTED.map((r) =>
    `${r.localName} ${r.kind === "server_streaming" ? "unimplementedStream" : "unimplemented"} ${r.name}`
  );
  assert.deepEqual(found.sort(), listed.sort());
});

Deno.test("unimplemented() RPCs each answer UNIMPLEMENTED naming themselves, without asking Podman", async (t) => {
  await using cri = await startInProcessCri();
  const calls = cri.fake.calls.length;
  for (const rpc of UNIMPLEMENTED) {
    await t.step(`${rpc.service}.${rpc.name}`, async () => {
      const call = rpc.kind === "server_streaming"
        ? cri.stream(rpc.service, rpc.localName, {})
        : (cri[rpc.service] as unknown as Record<string, (req: unknown) => Promise<unknown>>)[rpc.localName]!({});
      await assert.rejects(call, rejectsWith(status.UNIMPLEMENTED, new RegExp(`^${rpc.name} is not implemented`)));
    });
  }
  assert.equal(cri.fake.calls.length, calls);
});
