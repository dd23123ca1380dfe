// Every classified libpod failure reaches the client of each image RPC with its gRPC code: table-driven, one step
// per (RPC, libpod call it fails in, reason).
import assert from "node:assert/strict";
import type { PodmanFailure } from "../../podman/errors.ts";
import { type InProcessCri, startInProcessCri } from "../../../tests/harness/in_process_cri.ts";
import { stepEachFailure, storeBusybox } from "../../../tests/harness/handler_fixtures.ts";

interface Row {
  rpc: string;
  /** The libpod call that fails. */
  op: string;
  call: (cri: InProcessCri) => Promise<unknown>;
  /** Reasons the port never rejects this call with (absent images are `undefined` or a no-op there). */
  never?: PodmanFailure[];
}

const ABSENT_IS_NO_ERROR: PodmanFailure[] = ["not-found"];

const ROWS: Row[] = [
  { rpc: "listImages()", op: "images.list", call: (cri) => cri.image.listImages({}) },
  {
    rpc: "listImages()",
    op: "images.inspect",
    never: ABSENT_IS_NO_ERROR,
    call: (cri) => cri.image.listImages({ filter: { image: { image: "busybox" } } }),
  },
  { rpc: "streamImages()", op: "images.list", call: (cri) => cri.stream("image", "streamImages", {}) },
  {
    rpc: "imageStatus()",
    op: "images.inspect",
    never: ABSENT_IS_NO_ERROR,
    call: (cri) => cri.image.imageStatus({ image: { image: "busybox" }, verbose: true }),
  },
  { rpc: "pullImage()", op: "images.pull", call: (cri) => cri.image.pullImage({ image: { image: "alpine:3.19" } }) },
  {
    rpc: "removeImage()",
    op: "images.inspect",
    never: ABSENT_IS_NO_ERROR,
    call: (cri) => cri.image.removeImage({ image: { image: "busybox" } }),
  },
  {
    rpc: "removeImage()",
    op: "images.removeById",
    never: ABSENT_IS_NO_ERROR,
    call: (cri) => cri.image.removeImage({ image: { image: "busybox" } }),
  },
  { rpc: "imageFsInfo()", op: "system.info", call: (cri) => cri.image.imageFsInfo({}) },
];

for (const row of ROWS) {
  Deno.test(`${row.rpc} answers each classified failure of ${row.op} with its gRPC code`, async (t) => {
    // The image cache left unsynced: every image read asks Podman, whose failures this table is about (the cache's
    // own reads are tested in image_cache_test.ts).
    await using cri = await startInProcessCri({ imageCache: false });
    storeBusybox(cri);
    const before = JSON.stringify([...cri.fake.images_.values()]);
    await stepEachFailure(t, cri, row.op, () => row.call(cri), {
      never: row.never,
      unchanged: () => assert.equal(JSON.stringify([...cri.fake.images_.values()]), before, "the images are unchanged"),
    });
  });
}
