/**
 * A private OCI registry for pull tests: Debian's `docker-registry` (distribution 2.8) on 127.0.0.1, plain
 * HTTP, storage in a temp dir, optionally behind htpasswd basic auth.
 * @module
 */

import { type BackgroundProcess, run, spawnBackground } from "./_process.ts";
import { freePort, makeTempDir, waitFor } from "./temp.ts";

/** Path of Debian's registry binary (package `docker-registry`). */
export const REGISTRY_BINARY = "/usr/bin/docker-registry";

/** A user name and password for registry basic auth. */
export interface RegistryCredentials {
  /** User name. */
  username: string;
  /** Password. */
  password: string;
}

/** Options for {@linkcode startRegistry}. */
export interface RegistryOptions {
  /** Require basic auth with these credentials (htpasswd, bcrypt). */
  auth?: RegistryCredentials;
  /** How long to wait for `GET /v2/` to answer (default 15 000 ms). */
  startTimeoutMs?: number;
}

/** A running registry started by {@linkcode startRegistry}. */
export interface Registry extends AsyncDisposable {
  /** `127.0.0.1:PORT`, the host part of image references (`${address}/repo:tag`). */
  readonly address: string;
  /** `http://127.0.0.1:PORT`. */
  readonly url: string;
  /** Pid of the registry process. */
  readonly pid: number;
  /** The credentials it requires, if any. */
  readonly auth: RegistryCredentials | undefined;
  /** File with the registry's output. */
  readonly logPath: string;
  /** Stops the registry (SIGTERM, then SIGKILL) and deletes its storage. Idempotent. */
  stop(): Promise<void>;
}

/** Returns the value of an `Authorization: Basic …` header for these credentials. */
export function basicAuth(creds: RegistryCredentials): string {
  return `Basic ${btoa(`${creds.username}:${creds.password}`)}`;
}

function registryConfig(storageDir: string, address: string, htpasswdPath: string | undefined): string {
  // JSON is valid YAML, and quoting every value avoids YAML surprises with paths.
  const config: Record<string, unknown> = {
    version: 0.1,
    log: { level: "warn", accesslog: { disabled: true } },
    storage: { filesystem: { rootdirectory: storageDir }, delete: { enabled: true } },
    http: { addr: address, secret: crypto.randomUUID() },
  };
  if (htpasswdPath !== undefined) config.auth = { htpasswd: { realm: "cri-podman-test", path: htpasswdPath } };
  return JSON.stringify(config, null, 2);
}

/**
 * Starts a registry on a free port of 127.0.0.1 and waits until `GET /v2/` answers (200, or 401 with auth).
 * Each registry has its own empty storage.
 */
export async function startRegistry(options: RegistryOptions = {}): Promise<Registry> {
  const dir = await makeTempDir("registry");
  const storageDir = `${dir.path}/storage`;
  const logPath = `${dir.path}/registry.log`;
  await Deno.mkdir(storageDir);
  let htpasswdPath: string | undefined;
  if (options.auth !== undefined) {
    htpasswdPath = `${dir.path}/htpasswd`;
    const line = await run("htpasswd", ["-Bbn", options.auth.username, options.auth.password]);
    await Deno.writeTextFile(htpasswdPath, line.trim() + "\n");
  }

  let proc: BackgroundProcess | undefined;
  let address = "";
  // freePort() can race with another process taking the port: try a few ports.
  for (let attempt = 1; proc === undefined; attempt++) {
    address = `127.0.0.1:${freePort()}`;
    const configPath = `${dir.path}/config.yml`;
    await Deno.writeTextFile(configPath, registryConfig(storageDir, address, htpasswdPath));
    const candidate = spawnBackground(REGISTRY_BINARY, ["serve", configPath], { logPath });
    try {
      const outcome = await waitFor(async () => {
        if (candidate.hasExited) return "exited";
        const res = await fetch(`http://${address}/v2/`, { signal: AbortSignal.timeout(2_000) });
        await res.body?.cancel();
        return (res.status === 200 || res.status === 401) && "ready";
      }, { timeoutMs: options.startTimeoutMs ?? 15_000, what: `registry on ${address}` });
      if (outcome === "exited") throw new Error(`Registry on ${address} exited while starting`);
      proc = candidate;
    } catch (err) {
      await candidate.stop(2_000);
      const log = candidate.logTail();
      if (attempt < 3 && log.includes("address already in use")) continue;
      await dir.cleanup();
      throw new Error(`${(err as Error).message}\n--- registry log ---\n${log}`, { cause: err });
    }
  }

  const started = proc;
  const stop = async () => {
    await started.stop();
    await dir.cleanup();
  };
  return {
    address,
    url: `http://${address}`,
    pid: started.pid,
    auth: options.auth,
    logPath,
    stop,
    [Symbol.asyncDispose]: stop,
  };
}

/** Options for {@linkcode pushImage}. */
export interface PushOptions {
  /** Registry credentials, passed as `--creds user:pass`. */
  creds?: RegistryCredentials;
  /** Manifest format to push: "oci" or Docker's "v2s2" (default: Podman's choice, OCI for local images). */
  format?: "oci" | "v2s2";
}

/**
 * Pushes a local image to a registry with the Podman CLI (`--tls-verify=false`, since the test registry speaks
 * plain HTTP) and returns the manifest digest the registry stored (`sha256:…`).
 */
export async function pushImage(localRef: string, registryRef: string, options: PushOptions = {}): Promise<string> {
  await using tmp = await makeTempDir("push");
  const digestFile = `${tmp.path}/digest`;
  const args = ["push", "--quiet", "--tls-verify=false", "--digestfile", digestFile];
  if (options.creds !== undefined) args.push("--creds", `${options.creds.username}:${options.creds.password}`);
  if (options.format !== undefined) args.push("--format", options.format);
  args.push(localRef, `docker://${registryRef}`);
  await run("podman", args);
  return (await Deno.readTextFile(digestFile)).trim();
}

/**
 * Pushes a one-layer image to `registry` over the registry's HTTP API (distribution v2), without any container
 * engine: for tests that run as root, where Podman must not be used. `layerTar` is an uncompressed tar of the root
 * filesystem; returns the manifest digest.
 */
export async function pushLayerImage(
  registry: Registry,
  repo: string,
  tag: string,
  layerTar: Uint8Array,
  config: { Cmd?: readonly string[]; Env?: readonly string[] },
): Promise<string> {
  const headers: Record<string, string> = registry.auth ? { authorization: basicAuth(registry.auth) } : {};
  const sha256 = async (bytes: Uint8Array) =>
    `sha256:${
      Array.from(new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as BufferSource)))
        .map((b) => b.toString(16).padStart(2, "0")).join("")
    }`;
  const putBlob = async (bytes: Uint8Array): Promise<string> => {
    const digest = await sha256(bytes);
    const start = await fetch(`${registry.url}/v2/${repo}/blobs/uploads/`, { method: "POST", headers });
    await start.body?.cancel();
    if (start.status !== 202) throw new Error(`Blob upload start for ${repo}: HTTP ${start.status}`);
    const location = new URL(start.headers.get("location") ?? "", registry.url);
    location.searchParams.set("digest", digest);
    const put = await fetch(location, {
      method: "PUT",
      headers: { ...headers, "content-type": "application/octet-stream" },
      body: bytes as BodyInit,
    });
    await put.body?.cancel();
    if (put.status !== 201) throw new Error(`Blob upload for ${repo}: HTTP ${put.status}`);
    return digest;
  };
  const layerDigest = await putBlob(layerTar);
  const configBytes = new TextEncoder().encode(JSON.stringify({
    architecture: "amd64",
    os: "linux",
    config,
    rootfs: { type: "layers", diff_ids: [layerDigest] },
  }));
  const configDigest = await putBlob(configBytes);
  const manifest = new TextEncoder().encode(JSON.stringify({
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: configDigest, size: configBytes.length },
    layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar", digest: layerDigest, size: layerTar.length }],
  }));
  const res = await fetch(`${registry.url}/v2/${repo}/manifests/${tag}`, {
    method: "PUT",
    headers: { ...headers, "content-type": "application/vnd.oci.image.manifest.v1+json" },
    body: manifest as BodyInit,
  });
  await res.body?.cancel();
  if (res.status !== 201) throw new Error(`Manifest upload for ${repo}:${tag}: HTTP ${res.status}`);
  return await sha256(manifest);
}
