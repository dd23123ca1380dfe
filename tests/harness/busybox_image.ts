/**
 * A busybox image built locally from Debian's `busybox-static`, so integration tests need no registry on the
 * internet. Built with the Podman CLI: it is a fixture, not code under test.
 * @module
 */

import { run } from "./_process.ts";
import { makeTempDir } from "./temp.ts";

/** The reference {@linkcode ensureBusyboxImage} uses by default. */
export const BUSYBOX_IMAGE = "localhost/cri-podman-test/busybox:latest";

/** Where Debian's busybox-static installs the static binary. */
const BUSYBOX_BINARY = "/bin/busybox";

const PASSWD = "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n";
const GROUP = "root:x:0:\nnobody:x:65534:\n";
const PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** Tells whether Podman's local storage holds an image under this reference. */
export async function imageExists(ref: string): Promise<boolean> {
  const { code } = await new Deno.Command("podman", {
    args: ["image", "exists", ref],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).output();
  return code === 0;
}

/**
 * Makes sure `ref` names a busybox image in the user's Podman storage and returns its image id: a root folder
 * with `/bin/busybox`, one symlink per applet, `/etc/passwd` and `/etc/group` (root and nobody), imported with
 * `CMD ["/bin/sh"]`. Skips the build when the image is already there.
 */
export function ensureBusyboxImage(ref: string = BUSYBOX_IMAGE): Promise<string> {
  let pending = ensured.get(ref);
  if (pending === undefined) {
    pending = withBuildLock(async () => {
      if (!(await imageExists(ref))) await buildBusyboxImage(ref);
      return (await run("podman", ["image", "inspect", "--format", "{{.Id}}", ref])).trim();
    });
    // A failure is not cached: the next caller tries again.
    pending.catch(() => ensured.delete(ref));
    ensured.set(ref, pending);
  }
  return pending;
}

const ensured = new Map<string, Promise<string>>();

/**
 * Runs `fn` holding an exclusive lock shared by all test processes of this user. Test modules run in parallel:
 * without it two of them could both import, and the second import would move the tag to a new image id under
 * the feet of a test that already resolved the first.
 */
async function withBuildLock<T>(fn: () => Promise<T>): Promise<T> {
  const dir = Deno.env.get("XDG_RUNTIME_DIR") ?? Deno.env.get("TMPDIR") ?? "/tmp";
  using file = await Deno.open(`${dir}/cri-podman-test-image.lock`, { create: true, write: true });
  await file.lock(true);
  try {
    return await fn();
  } finally {
    await file.unlock();
  }
}

/**
 * Writes the busybox root filesystem as an uncompressed tar (owned by root inside, whoever built it) to `tarball`:
 * `/bin/busybox`, one symlink per applet, Debian's merged-/usr links, `/etc/passwd` and `/etc/group`.
 */
export async function writeBusyboxRootfsTar(tarball: string): Promise<void> {
  await using tmp = await makeTempDir("busybox");
  const root = `${tmp.path}/rootfs`;
  for (const dir of ["bin", "etc", "root", "tmp", "var/tmp", "proc", "sys", "dev", "home", "www"]) {
    await Deno.mkdir(`${root}/${dir}`, { recursive: true });
  }
  await Deno.chmod(`${root}/tmp`, 0o1777);
  await Deno.chmod(`${root}/var/tmp`, 0o1777);
  await Deno.copyFile(BUSYBOX_BINARY, `${root}/bin/busybox`);
  await Deno.chmod(`${root}/bin/busybox`, 0o755);
  const applets = (await run(BUSYBOX_BINARY, ["--list"])).split("\n").map((s) => s.trim());
  for (const applet of applets) {
    // A "busybox" symlink would replace the binary itself.
    if (applet === "" || applet === "busybox" || applet.includes("/")) continue;
    await Deno.symlink("busybox", `${root}/bin/${applet}`);
  }
  // Debian's merged /usr: programs that look in /usr/bin or /sbin still find the applets.
  await Deno.mkdir(`${root}/usr`, { recursive: true });
  for (const link of ["usr/bin", "usr/sbin", "sbin"]) {
    await Deno.symlink(link === "sbin" ? "bin" : "../bin", `${root}/${link}`);
  }
  await Deno.writeTextFile(`${root}/etc/passwd`, PASSWD);
  await Deno.writeTextFile(`${root}/etc/group`, GROUP);
  await run("tar", ["--numeric-owner", "--owner=0", "--group=0", "-C", root, "-cf", tarball, "."]);
}

/** The image config of the busybox image: `CMD ["/bin/sh"]` and a PATH. */
export const BUSYBOX_CONFIG = { Cmd: ["/bin/sh"], Env: [PATH_ENV] } as const;

/** Builds the busybox image and tags it `ref`, replacing any image of that name. */
export async function buildBusyboxImage(ref: string = BUSYBOX_IMAGE): Promise<void> {
  await using tmp = await makeTempDir("busybox-tar");
  const tarball = `${tmp.path}/rootfs.tar`;
  await writeBusyboxRootfsTar(tarball);
  await run("podman", [
    "import",
    "--quiet",
    "--change",
    `CMD ${JSON.stringify(BUSYBOX_CONFIG.Cmd)}`,
    "--change",
    `ENV ${PATH_ENV}`,
    tarball,
    ref,
  ]);
}

/**
 * Removes a name from Podman's local storage (`podman rmi --ignore`): untags it, and deletes the image when it
 * was the last name. Absent names are fine. Use it to make a later pull a real download.
 */
export async function removeImage(ref: string): Promise<void> {
  await run("podman", ["rmi", "--ignore", ref]);
}
