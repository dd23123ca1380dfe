/**
 * Integration: the ImageService against real rootless Podman and a local registry with htpasswd auth, through the
 * real cri-podman process — the crictl pull / images / inspecti / rmi / imagefsinfo flows.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { status as grpcStatus } from "@grpc/grpc-js";
import type { Image } from "../src/gen/runtime/v1/api_pb.ts";
import { run } from "./harness/_process.ts";
import { BUSYBOX_IMAGE, ensureBusyboxImage, imageExists } from "./harness/busybox_image.ts";
import type { CallError } from "./harness/cri_client.ts";
import { startCriServer } from "./harness/cri_server.ts";
import { startPodmanService } from "./harness/podman_service.ts";
import { pushImage, startRegistry } from "./harness/registry.ts";
import { makeTempDir, uniqueName, waitFor } from "./harness/temp.ts";

function rejectsWith(code: grpcStatus, pattern: RegExp) {
  return (err: CallError) => {
    assert.equal(err.code, code, `expected ${grpcStatus[code]}, got ${grpcStatus[err.code]}: ${err.details}`);
    assert.match(err.details, pattern);
    return true;
  };
}

/** Builds an image of our own (busybox + a unique label, so a unique ID) that no other test shares. */
async function buildUniqueImage(ref: string): Promise<void> {
  await ensureBusyboxImage();
  await using dir = await makeTempDir("build");
  await Deno.writeTextFile(`${dir.path}/Containerfile`, `FROM ${BUSYBOX_IMAGE}\nLABEL cri-podman-test="${ref}"\n`);
  await run("podman", ["build", "--quiet", "--pull=never", "-t", ref, dir.path]);
}

Deno.test("ImageService pulls, lists, inspects and removes images on rootless Podman", async (t) => {
  const creds = { username: "cri", password: `pw-${crypto.randomUUID()}` };
  await using podman = await startPodmanService();
  await using registry = await startRegistry({ auth: creds });
  const name = uniqueName("img");
  const localRef = `localhost/cri-podman-test/${name}:src`;
  const repo = `${registry.address}/cri-podman-test/${name}`;
  const tagged = `${repo}:v1`;
  await buildUniqueImage(localRef);
  const digest = await pushImage(localRef, tagged, { creds });
  // Remove the source so that every pull below really comes from the registry.
  await run("podman", ["rmi", localRef]);
  await using cri = await startCriServer({ podmanSocket: podman.socketPath });
  const images = cri.client.image;
  const auth = { username: creds.username, password: creds.password };
  let imageRef = "";

  try {
    await t.step("PullImage without credentials fails with UNAUTHENTICATED", async () => {
      await assert.rejects(
        images.pullImage({ image: { image: tagged } }),
        rejectsWith(grpcStatus.UNAUTHENTICATED, /authentication failed/),
      );
    });

    await t.step("PullImage with a wrong password says authentication failed", async () => {
      await assert.rejects(
        images.pullImage({ image: { image: tagged }, auth: { username: creds.username, password: "wrong" } }),
        rejectsWith(grpcStatus.UNAUTHENTICATED, /authentication failed/),
      );
    });

    await t.step("PullImage by tag with username/password returns the image ID as image_ref", async () => {
      const res = await images.pullImage({ image: { image: tagged }, auth });
      assert.match(res.imageRef, /^sha256:[0-9a-f]{64}$/);
      imageRef = res.imageRef;
      const podmanId = (await run("podman", ["image", "inspect", "--format", "{{.Id}}", tagged])).trim();
      assert.equal(imageRef, `sha256:${podmanId}`);
    });

    await t.step("ImageStatus by tag, by ID and by short ID finds the pulled image", async () => {
      for (const ref of [tagged, imageRef, imageRef.slice(7, 19)]) {
        const s = await images.imageStatus({ image: { image: ref } });
        assert.equal(s.image?.id, imageRef, ref);
        assert.deepEqual(s.image?.repoTags, [tagged]);
        assert.ok(s.image!.size > 0n);
        assert.deepEqual(s.info, {});
      }
    });

    await t.step("ImageStatus verbose carries the image config", async () => {
      const s = await images.imageStatus({ image: { image: tagged }, verbose: true });
      const info = JSON.parse(s.info["info"] ?? "{}");
      assert.equal(info.labels["cri-podman-test"], localRef);
      assert.deepEqual(info.imageSpec.config.Cmd, ["/bin/sh"]);
    });

    await t.step("ImageStatus of an absent image is an empty response, not an error", async () => {
      const s = await images.imageStatus({ image: { image: `${repo}:absent` } });
      assert.equal(s.image, undefined);
      const short = await images.imageStatus({ image: { image: `never-pulled-${name}` } });
      assert.equal(short.image, undefined);
    });

    await t.step("ListImages lists it; the filter narrows to it; StreamImages agrees", async () => {
      const all = await images.listImages({});
      const mine = all.images.find((i) => i.id === imageRef);
      assert.ok(mine, "pulled image listed");
      assert.deepEqual(mine.repoTags, [tagged]);
      assert.ok(mine.repoDigests.includes(`${repo}@${digest}`), JSON.stringify(mine.repoDigests));
      assert.ok(all.images.every((i) => i.repoTags.every((tag) => !tag.includes("@"))), "no digests in repo_tags");
      const filtered = await images.listImages({ filter: { image: { image: tagged } } });
      assert.deepEqual(filtered.images.map((i) => i.id), [imageRef]);
      const none = await images.listImages({ filter: { image: { image: `${repo}:absent` } } });
      assert.deepEqual(none.images, []);
      const streamed = (await cri.client.stream<{ images: Image[] }>("image", "streamImages", {}))
        .flatMap((m) => m.images.map((i) => i.id));
      assert.deepEqual(new Set(streamed), new Set(all.images.map((i) => i.id)));
      assert.equal(streamed.length, new Set(streamed).size, "each image once");
    });

    await t.step("RemoveImage by tag removes the image with all of its tags, and is idempotent", async () => {
      const second = `${repo}:second`;
      await run("podman", ["tag", tagged, second]);
      await images.removeImage({ image: { image: tagged } });
      assert.equal((await images.imageStatus({ image: { image: tagged } })).image, undefined);
      assert.equal((await images.imageStatus({ image: { image: second } })).image, undefined);
      assert.equal((await images.imageStatus({ image: { image: imageRef } })).image, undefined);
      assert.equal(await imageExists(imageRef.slice(7)), false);
      await images.removeImage({ image: { image: tagged } });
      await images.removeImage({ image: { image: imageRef } });
    });

    await t.step("PullImage by digest with the base64 auth field, then RemoveImage by digest", async () => {
      const byDigest = `${repo}@${digest}`;
      const encoded = Buffer.from(`${creds.username}:${creds.password}`).toString("base64");
      const res = await images.pullImage({ image: { image: byDigest }, auth: { auth: encoded } });
      assert.equal(res.imageRef, imageRef, "same content, same image ID");
      const s = await images.imageStatus({ image: { image: byDigest } });
      assert.equal(s.image?.id, imageRef);
      assert.ok(s.image?.repoDigests.includes(byDigest));
      await images.removeImage({ image: { image: byDigest } });
      assert.equal((await images.imageStatus({ image: { image: byDigest } })).image, undefined);
    });

    await t.step("RemoveImage by ID", async () => {
      const res = await images.pullImage({ image: { image: tagged }, auth });
      await images.removeImage({ image: { image: res.imageRef } });
      assert.equal((await images.imageStatus({ image: { image: tagged } })).image, undefined);
    });

    await t.step("RemoveImage of an image a container uses is FAILED_PRECONDITION and leaves every name", async () => {
      const res = await images.pullImage({ image: { image: tagged }, auth });
      const second = `${repo}:second`;
      await run("podman", ["tag", tagged, second]);
      const user = uniqueName("image-user");
      await run("podman", ["create", "--name", user, tagged, "true"]);
      try {
        await assert.rejects(
          images.removeImage({ image: { image: tagged } }),
          rejectsWith(grpcStatus.FAILED_PRECONDITION, new RegExp(`containers use it \\(${user}\\)`)),
        );
        // Earlier, the names were gone although the image stayed: the next CreateContainer by tag was NOT_FOUND.
        for (const name of [tagged, second]) {
          assert.equal((await images.imageStatus({ image: { image: name } })).image?.id, res.imageRef, name);
        }
      } finally {
        await run("podman", ["rm", "--force", user]);
      }
      await images.removeImage({ image: { image: tagged } });
      assert.equal((await images.imageStatus({ image: { image: second } })).image, undefined);
    });

    await t.step("PullImage of an image the registry does not have is NOT_FOUND", async () => {
      await assert.rejects(
        images.pullImage({ image: { image: `${repo}-missing:v1` }, auth }),
        rejectsWith(grpcStatus.NOT_FOUND, /-missing/),
      );
    });

    await t.step("malformed or empty references are INVALID_ARGUMENT naming the field", async () => {
      for (const bad of ["Bad//Ref", "UPPER/case:tag", "busybox:", "x@sha256:123"]) {
        await assert.rejects(
          images.pullImage({ image: { image: bad } }),
          rejectsWith(grpcStatus.INVALID_ARGUMENT, /image\.image/),
        );
        await assert.rejects(
          images.imageStatus({ image: { image: bad } }),
          rejectsWith(grpcStatus.INVALID_ARGUMENT, /image\.image/),
        );
      }
      await assert.rejects(images.pullImage({}), rejectsWith(grpcStatus.INVALID_ARGUMENT, /image\.image/));
      await assert.rejects(
        images.removeImage({ image: { image: "" } }),
        rejectsWith(grpcStatus.INVALID_ARGUMENT, /image/),
      );
      await assert.rejects(
        images.pullImage({ image: { image: tagged }, auth: { auth: "bm9jb2xvbg==" } }),
        rejectsWith(grpcStatus.INVALID_ARGUMENT, /auth\.auth/),
      );
    });

    await t.step(
      "a tag made and removed behind cri-podman's back shows in ListImages once Podman's event arrives",
      async () => {
        // ListImages answers from the image cache alone: only the image events can bring the change in.
        const extra = `localhost/cri-podman-test/${name}:behind`;
        const listed = async () => (await images.listImages({})).images.flatMap((i) => i.repoTags).includes(extra);
        await run("podman", ["tag", BUSYBOX_IMAGE, extra]);
        await waitFor(listed, { timeoutMs: 10_000, intervalMs: 20, what: `${extra} in ListImages` });
        await run("podman", ["untag", extra, extra]); // IMAGE then the one NAME to drop (no NAME would drop them all)
        await waitFor(async () => !(await listed()), { timeoutMs: 10_000, intervalMs: 20, what: `${extra} gone` });
        assert.equal((await images.imageStatus({ image: { image: extra } })).image, undefined);
        assert.ok((await images.imageStatus({ image: { image: BUSYBOX_IMAGE } })).image, "its other names stay");
        // A pull behind our back: Podman 4.3's "pull" event names the reference, not the image ID.
        const has = async (ref: string) => (await images.listImages({})).images.some((i) => i.repoTags.includes(ref));
        await run("podman", ["rmi", "--ignore", tagged]);
        await run("podman", [
          "pull",
          "-q",
          "--tls-verify=false",
          "--creds",
          `${creds.username}:${creds.password}`,
          tagged,
        ]);
        await waitFor(() => has(tagged), { timeoutMs: 10_000, intervalMs: 20, what: `${tagged} pulled by the CLI` });
        await run("podman", ["rmi", tagged]);
        await waitFor(async () => !(await has(tagged)), { timeoutMs: 10_000, intervalMs: 20, what: `${tagged} gone` });
      },
    );

    await t.step("ImageFsInfo reports bytes and inodes used under Podman's graph root", async () => {
      const info = JSON.parse((await podman.request("GET", "/v4.0.0/libpod/info")).body);
      const res = await images.imageFsInfo({});
      assert.equal(res.imageFilesystems.length, 1);
      const fs = res.imageFilesystems[0]!;
      assert.equal(fs.fsId?.mountpoint, info.store.graphRoot);
      assert.ok((fs.usedBytes?.value ?? 0n) > 1_000_000n, `used bytes ${fs.usedBytes?.value}`);
      assert.ok((fs.inodesUsed?.value ?? 0n) > 100n, `inodes ${fs.inodesUsed?.value}`);
      const ageMs = Date.now() - Number(fs.timestamp / 1_000_000n);
      assert.ok(ageMs >= 0 && ageMs < 60_000, `timestamp age ${ageMs} ms`);
    });

    await t.step("passwords never reach the log", () => {
      const log = cri.log();
      assert.match(log, /PullImage/, "the debug log has the calls");
      assert.ok(!log.includes(creds.password), "password in log");
      assert.ok(!log.includes(Buffer.from(`${creds.username}:${creds.password}`).toString("base64")), "auth in log");
    });
  } finally {
    await run("podman", ["rmi", "--ignore", tagged, `${repo}:second`]).catch(() => {});
  }
});
