/**
 * Integration test harness: a private Podman REST service, a local busybox image, a private registry and
 * small helpers for unique names, temp dirs and polling. Everything a test starts, it stops.
 *
 * ```ts
 * await using podman = await startPodmanService();
 * await ensureBusyboxImage();
 * await using registry = await startRegistry({ auth: { username: "u", password: "p" } });
 * ```
 * @module
 */

export * from "./busybox_image.ts";
export * from "./podman_service.ts";
export * from "./registry.ts";
export * from "./temp.ts";
