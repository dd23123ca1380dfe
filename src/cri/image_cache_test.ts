import assert from "node:assert/strict";
import { FakePodman } from "../../tests/fake_podman.ts";
import { createLogger } from "../observability/log.ts";
import { toImageTarget } from "../translate/image_ref.ts";
import { ImageCache } from "./image_cache.ts";

const log = createLogger({ level: "error", format: "text", write: () => {} });

async function synced(fake: FakePodman): Promise<ImageCache> {
  const cache = new ImageCache(fake, log);
  await cache.resync();
  return cache;
}

const idOf = (found: unknown) => (found === "ask" ? "ask" : (found as { Id: string } | undefined)?.Id);

/** Every image the cache keeps, as ListImages reads them (undefined while unsynced). */
const everyImage = (cache: ImageCache) => cache.memoize("test", (images) => images);

Deno.test("ImageCache answers lookups from memory: tags, short names, digests, IDs and ID prefixes", async () => {
  const fake = new FakePodman();
  const busybox = fake.addImage(["docker.io/library/busybox:latest", "docker.io/library/busybox:1.36"]);
  const local = fake.addImage(["localhost/tool:latest"]);
  const cache = await synced(fake);
  const before = fake.calls.length;
  const find = async (text: string) => idOf(await cache.lookup(toImageTarget(text)));
  assert.equal(await find("busybox"), busybox, "a short name: docker.io/library/…:latest");
  assert.equal(await find("busybox:1.36"), busybox);
  assert.equal(await find("tool"), local, "a short name is tried under localhost/ first");
  assert.equal(await find(fake.images_.get(busybox)!.RepoDigests![0]!), busybox, "a digest");
  assert.equal(await find(`sha256:${busybox}`), busybox);
  assert.equal(await find(busybox.slice(0, 12)), busybox, "a unique ID prefix");
  assert.equal(await find("nginx:1.25"), "ask", "a miss asks Podman: the image may be newer than its event");
  assert.deepEqual(fake.calls.slice(before), [], "no Podman call");
  assert.equal(idOf(await new ImageCache(fake, log).lookup(toImageTarget("busybox"))), "ask", "unsynced: ask");
});

Deno.test("ImageCache: a full read inspects only new or renamed images; events update one image each", async () => {
  const fake = new FakePodman();
  const a = fake.addImage(["docker.io/library/a:1"]);
  fake.addImage(["docker.io/library/b:1"]);
  const cache = await synced(fake);
  assert.equal(fake.callsOf("images.inspect").length, 2);
  await cache.resync();
  assert.equal(fake.callsOf("images.inspect").length, 2, "unchanged images are not inspected again");
  fake.images_.get(a)!.RepoTags = ["docker.io/library/a:1", "docker.io/library/a:2"];
  await cache.resync();
  assert.equal(fake.callsOf("images.inspect").length, 3, "a renamed image is");
  assert.equal(idOf(await cache.lookup(toImageTarget("docker.io/library/a:2"))), a);
  // A tag belongs to one image: the one pulled under it takes it from the other.
  const newer = fake.addImage(["docker.io/library/a:1"]);
  fake.images_.get(a)!.RepoTags = ["docker.io/library/a:2"];
  await cache.refreshImage(newer);
  assert.equal(idOf(await cache.lookup(toImageTarget("docker.io/library/a:1"))), newer);
  const old = (await everyImage(cache))!.find((i) => i.Id === a)!;
  assert.deepEqual(old.RepoTags, ["docker.io/library/a:2"]);
});

Deno.test("ImageCache: a read that began before a removal never brings the image back", async () => {
  const fake = new FakePodman();
  const id = fake.addImage(["docker.io/library/gone:1"]);
  const cache = await synced(fake);
  let release!: () => void;
  const gate = new Promise<void>((resolve) => release = resolve);
  const inspect = fake.images.inspect;
  fake.images.inspect = async (name, opts) => {
    const answer = await inspect(name, opts); // read while the image still exists...
    await gate; // ...and land after it was removed and forgotten
    return answer;
  };
  const late = cache.refreshImage(id);
  fake.images_.delete(id);
  cache.forget(id);
  release();
  await late;
  assert.deepEqual(await everyImage(cache), []);
  assert.equal(idOf(await cache.lookup(toImageTarget(`sha256:${id}`))), "ask");
  // The removal was remembered only while that older read was under way: removals do not pile up.
  assert.equal(cache.removalsRemembered, 0);
  for (let i = 0; i < 20; i++) {
    const other = fake.addImage([`docker.io/library/churn:${i}`]);
    await cache.refreshImage(other);
    fake.images_.delete(other);
    cache.forget(other);
    await cache.refreshImage(other); // the image's "remove" event
  }
  assert.equal(cache.removalsRemembered, 0, "no removal kept once no older read can land");
});

Deno.test("ImageCache answers after the reads under way: an image whose event arrived first is listed", async () => {
  const fake = new FakePodman();
  const cache = await synced(fake);
  const id = fake.addImage(["docker.io/library/new:1"]);
  const reading = cache.refreshImage(id); // what the event feed starts when the event arrives
  assert.deepEqual((await everyImage(cache))!.map((i) => i.Id), [id]);
  await reading;
  // The kept copy holds what cri-podman reads, not Podman's whole answer.
  const kept = (await everyImage(cache))![0]! as unknown as Record<string, unknown>;
  assert.deepEqual(Object.keys(kept).sort(), ["Config", "Created", "Digest", "Id", "RepoDigests", "RepoTags", "Size"]);
});
