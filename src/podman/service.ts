/**
 * Finds or provides the Podman REST service: use one that answers on the socket, or start
 * `podman system service --time=0` there as our child, restart it when it dies, and stop it on exit.
 *
 * The embedded service is made to survive a crash of cri-podman without harm, and to be recognised afterwards:
 * - its output goes to a log file next to the socket, never to a pipe of ours: after a SIGKILL of cri-podman a piped
 *   service lived on with a dead reader, and every `runc delete` it ran failed with SIGPIPE;
 * - it runs in a session of its own, so a Ctrl-C meant for cri-podman does not kill it in the middle of a request
 *   (cri-podman stops it itself, after its calls are done);
 * - a pid file next to the socket names it (pid and start time); the next start finds a service it left running,
 *   stops it and starts its own, rather than adopting it as someone else's.
 * @module
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { closeSync, openSync } from "node:fs";
import { readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { StartupError } from "../errors.ts";
import { isPodmanFailure } from "./errors.ts";
import { dirname } from "node:path";
import { processArgs, processStartTime, runCommand, terminateProcessGroup } from "../host/processes.ts";
import { lastLines } from "../host/oci_runtime.ts";
import { ensurePrivateDirectory } from "../host/runtime_dir.ts";
import type { Logger } from "../observability/log.ts";
import type { SystemPort } from "./port.ts";
import { isSupportedApi, libpodApiVersion, MIN_LIBPOD_API } from "./system.ts";

/** How the Podman service is provided. */
export interface PodmanServiceOptions {
  socketPath: string;
  /** Start and supervise our own service when nothing answers. */
  embedded: boolean;
  binary: string;
  startTimeoutMs: number;
  log: Logger;
  /** Environment of the embedded service (XDG_RUNTIME_DIR must match ours). */
  env: Record<string, string>;
  /** Runs once before the embedded service is first started (e.g. to choose the storage driver of a new storage). */
  beforeFirstSpawn?: () => Promise<void>;
  /** OCI hooks the embedded service runs (`--hooks-dir`); a service we did not start has none of them. */
  hooks?: PodmanHooks;
}

/** OCI hook files for the embedded service, and where they go. */
export interface PodmanHooks {
  /**
   * A private directory of ours (under the runtime directory). Each service gets a subdirectory of its own, named
   * after its socket: Podman runs every matching hook of its directories, so two cri-podmans must not share one.
   */
  root: string;
  /** The hook files by name (`*.json`, oci-hooks(5)), as JSON values; written before every start of the service. */
  files: Readonly<Record<string, unknown>>;
}

/**
 * Podman's own hook directories: `--hooks-dir` replaces them, so the ones that exist are passed along with ours
 * (containers.conf's `hooks_dir`, when set, is not read).
 */
export const DEFAULT_HOOKS_DIRS: readonly string[] = [
  "/usr/share/containers/oci/hooks.d",
  "/etc/containers/oci/hooks.d",
];

/** The global flags that give Podman `ours` and the default directories that exist, in that order (ours win ties). */
export function hooksDirArgs(ours: string, existingDefaults: readonly string[]): string[] {
  return [...existingDefaults, ours].flatMap((dir) => ["--hooks-dir", dir]);
}

/** A start-up failure the user can act on: printed as one line, exit status 2. */
export class PodmanStartError extends StartupError {
  /** Creates a start-up error. */
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "PodmanStartError";
  }
}

/** What Podman says when its user namespace's pause process and containers are all gone. */
const STALE_USER_NAMESPACE = /invalid internal status.*system migrate/;

/** What the pid file of an embedded service records. */
interface PidRecord {
  pid: number;
  /** Start time in clock ticks since boot: tells this process from a later one with the same pid. */
  startTime: number;
  socket: string;
}

/** The Podman service cri-podman talks to, and, if we started it, its supervisor. */
export class PodmanService {
  readonly #opts: PodmanServiceOptions;
  readonly #system: SystemPort;
  #child: ChildProcess | undefined;
  #stopping = false;
  #restarts = 0;
  #restartTimer: ReturnType<typeof setTimeout> | undefined;
  /** Aborts a spawn-and-wait in progress (a restart) when we stop. */
  readonly #stopController = new AbortController();
  #lastFailure = "";
  #sameFailures = 0;
  /** The child a spawn-and-wait is waiting for (not yet answering). */
  #awaitingReady: ChildProcess | undefined;
  /** Global podman flags for the embedded service (`--runtime runc`). */
  #globalArgs: readonly string[] = [];
  /** Whether the service is our child. */
  embedded = false;
  /** Whether we wrote the hooks directory (removed again on stop). */
  #hooksWritten = false;
  /** The libpod API version Podman reported at start. */
  apiVersion = "";

  /** Prepares (does not start) the service for `system`'s socket. */
  constructor(system: SystemPort, opts: PodmanServiceOptions) {
    this.#system = system;
    this.#opts = opts;
  }

  /** PID of the embedded service, if we run one. */
  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** The service's log file (embedded only). */
  get logPath(): string {
    return `${this.#opts.socketPath}.cri-podman.log`;
  }

  get #pidPath(): string {
    return `${this.#opts.socketPath}.cri-podman.pid`;
  }

  /** The global flags the embedded service runs with. */
  get globalArgs(): readonly string[] {
    return this.#globalArgs;
  }

  /** The directory of this service's OCI hooks, if it has any (see {@linkcode PodmanHooks}). */
  get hooksDir(): string | undefined {
    const hooks = this.#opts.hooks;
    if (!hooks || Object.keys(hooks.files).length === 0) return undefined;
    const key = createHash("sha256").update(this.#opts.socketPath).digest("hex").slice(0, 16);
    return `${hooks.root.replace(/\/+$/, "")}/${key}`;
  }

  /** Whether Podman runs our OCI hooks: we started the service, with them. */
  get hooksInstalled(): boolean {
    return this.embedded && this.hooksDir !== undefined;
  }

  /**
   * Connects to a running service or starts ours, then checks the API version. A service a previous cri-podman
   * started and left behind (it crashed) is stopped and replaced by a child of ours.
   */
  async start(): Promise<void> {
    // Only an embedded service is ours to replace; without one, whatever answers is someone else's to run.
    const orphan = this.#opts.embedded ? await this.#leftBehind() : undefined;
    const reachable = await this.#ping(1_000);
    if (orphan !== undefined || !reachable) {
      if (!this.#opts.embedded) {
        throw new PodmanStartError(
          `Podman does not answer on "${this.#opts.socketPath}": start it with ` +
            `\`podman system service --time=0 unix://${this.#opts.socketPath}\`, or enable podman.embedded_service`,
        );
      }
      if (orphan !== undefined) {
        this.#opts.log.warn("stopping the Podman service a previous cri-podman left running", { pid: orphan });
        if (!(await terminateProcessGroup(orphan, 5_000))) {
          throw new PodmanStartError(
            `Cannot stop the Podman service left running by a previous cri-podman (pid ${orphan})`,
          );
        }
      }
      await this.#opts.beforeFirstSpawn?.();
      await this.#spawnAndWait();
      this.embedded = true;
    }
    const version = await this.#system.version();
    this.apiVersion = libpodApiVersion(version) ?? "";
    if (!isSupportedApi(this.apiVersion)) {
      throw new PodmanStartError(
        `Podman on "${this.#opts.socketPath}" serves libpod API ${this.apiVersion || "(unknown)"}; cri-podman needs ` +
          `${MIN_LIBPOD_API.join(".")} or newer (Podman ${MIN_LIBPOD_API.join(".")}+)`,
      );
    }
    this.#opts.log.info("podman ready", {
      socket: this.#opts.socketPath,
      apiVersion: this.apiVersion,
      embedded: this.embedded,
      ...(this.pid ? { pid: this.pid } : {}),
    });
  }

  /**
   * Restarts the embedded service with other global flags (e.g. `--runtime runc` once the configured OCI runtime
   * proved unusable). Resolves when the new service answers.
   */
  async restartWith(globalArgs: readonly string[]): Promise<void> {
    if (!this.embedded) throw new Error("restartWith() needs the embedded service");
    this.#globalArgs = [...globalArgs];
    this.#stopping = true; // the exit we cause now is not a crash to restart from
    await this.#killChild();
    this.#stopping = false;
    await this.#spawnAndWait();
  }

  /** Stops the embedded service (SIGTERM, then SIGKILL after 5 s); a service we did not start is left alone. */
  async stop(): Promise<void> {
    this.#stopping = true;
    this.#stopController.abort();
    if (this.#restartTimer) clearTimeout(this.#restartTimer);
    this.#restartTimer = undefined;
    await this.#killChild();
    if (this.embedded) await rm(this.#pidPath, { force: true });
    // The hooks serve our service alone; one that outlives us (a crash) keeps them, and the next start rewrites them.
    if (this.#hooksWritten) await rm(this.hooksDir!, { force: true, recursive: true });
  }

  /**
   * Stops the service's whole process group (SIGTERM, SIGKILL after 5 s). The first Podman of a user re-executes
   * itself inside the user namespace it creates, and the parent we started does not pass SIGTERM on: signalled
   * alone it exited while its child went on serving the socket, and kept our pooled connections.
   */
  async #killChild(): Promise<void> {
    const child = this.#child;
    if (!child?.pid) return;
    const exited = child.exitCode !== null || child.signalCode !== null
      ? Promise.resolve()
      : new Promise<void>((resolve) => child.once("exit", () => resolve()));
    await terminateProcessGroup(child.pid, 5_000);
    await exited;
  }

  async #ping(timeoutMs: number): Promise<boolean> {
    try {
      await this.#system.ping({ signal: AbortSignal.timeout(timeoutMs) });
      return true;
    } catch (err) {
      if (isPodmanFailure(err, "unreachable", "timeout")) return false;
      throw err;
    }
  }

  /** The pid of a live service our pid file names (one we started and did not stop), else undefined. */
  async #leftBehind(): Promise<number | undefined> {
    let record: PidRecord;
    try {
      record = JSON.parse(await readFile(this.#pidPath, "utf8")) as PidRecord;
    } catch {
      return undefined;
    }
    const alive = typeof record.pid === "number" && (await processStartTime(record.pid)) === record.startTime &&
      (await processArgs(record.pid)).includes("service");
    if (!alive) await rm(this.#pidPath, { force: true });
    return alive ? record.pid : undefined;
  }

  /**
   * Starts the service and waits until it answers. A service that exits before it answers is not retried: the same
   * command would fail the same way, so its own words are the error.
   */
  async #spawnAndWait(recovered = false): Promise<void> {
    await ensurePrivateDirectory(dirname(this.#opts.socketPath)).catch((err: Error) => {
      throw new PodmanStartError(
        `Cannot create the directory of podman.socket "${this.#opts.socketPath}": ${err.message}`,
      );
    });
    await this.#removeStaleSocket();
    const child = await this.#spawn();
    this.#awaitingReady = child;
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    const deadline = Date.now() + this.#opts.startTimeoutMs;
    const signal = this.#stopController.signal;
    let outcome: "ready" | "exited" | "timeout" | "stopped" = "timeout";
    while (Date.now() < deadline) {
      if (signal.aborted) outcome = "stopped";
      else if (child.exitCode !== null || child.signalCode !== null) outcome = "exited";
      else if (await this.#ping(1_000)) outcome = "ready";
      if (outcome !== "timeout") break;
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 50))]);
    }
    this.#awaitingReady = undefined;
    if (outcome === "ready") return;
    const wasStopping = this.#stopping;
    this.#stopping = true;
    await this.#killChild();
    this.#stopping = wasStopping;
    if (this.#child === child) this.#child = undefined;
    if (outcome === "stopped") throw new PodmanStartError("cri-podman is stopping");
    const said = await this.#logTail();
    if (outcome === "exited" && !recovered && STALE_USER_NAMESPACE.test(said)) {
      await this.#migrate(said);
      return this.#spawnAndWait(true);
    }
    const how = outcome === "exited"
      ? `exited with status ${child.exitCode ?? child.signalCode} before it answered`
      : `did not answer within ${this.#opts.startTimeoutMs} ms`;
    throw new PodmanStartError(
      `The Podman service we started on "${this.#opts.socketPath}" ${how}${said ? `; it said: ${said}` : ""} ` +
        `(log: ${this.logPath})`,
    );
  }

  /**
   * Resets a user namespace whose processes are all gone: the pause process and every container's conmon were killed
   * (a session ended, a CI machine reused) while the runtime directory stayed. Podman then refuses every command
   * ("invalid internal status … podman system migrate") until `podman system migrate` makes a new pause process and
   * marks the dead containers stopped. Nothing runs in that state, so nothing is lost by it.
   */
  async #migrate(said: string): Promise<void> {
    this.#opts.log.warn("Podman's user namespace outlived all its processes: running `podman system migrate`", {
      said,
    });
    const args = [...this.#globalArgs, "system", "migrate"];
    const result = await runCommand(this.#opts.binary, args, { env: this.#opts.env, timeoutMs: 60_000 });
    if (result.code !== 0) {
      throw new PodmanStartError(
        `Podman's user namespace outlived its processes and \`${this.#opts.binary} system migrate\` failed ` +
          `(status ${result.code}): ${lastLines(result.output, 3)}`,
      );
    }
  }

  /** A socket file nobody answers on would make `podman system service` fail: remove it. */
  async #removeStaleSocket(): Promise<void> {
    try {
      const st = await stat(this.#opts.socketPath);
      if (st.isSocket()) await rm(this.#opts.socketPath, { force: true });
    } catch {
      // absent: nothing to do
    }
  }

  async #spawn(): Promise<ChildProcess> {
    const hookArgs = await this.#writeHooks();
    // One generation of the previous log is kept for whoever looks into an earlier failure.
    await rename(this.logPath, `${this.logPath}.1`).catch(() => {});
    const fd = openSync(this.logPath, "a", 0o600);
    try {
      return await new Promise<ChildProcess>((resolve, reject) => {
        const args = [
          ...hookArgs,
          ...this.#globalArgs,
          "system",
          "service",
          "--time=0",
          `unix://${this.#opts.socketPath}`,
        ];
        const child = spawn(this.#opts.binary, args, {
          stdio: ["ignore", fd, fd],
          detached: true,
          env: this.#opts.env,
        });
        const onError = (err: NodeJS.ErrnoException) => {
          if (err.code === "ENOENT") {
            reject(
              new PodmanStartError(
                `Cannot start Podman: "${this.#opts.binary}" is not installed. Install it (Debian/Ubuntu: ` +
                  "`sudo apt-get install podman uidmap slirp4netns fuse-overlayfs`), or point podman.socket at a " +
                  "running Podman service",
                { cause: err },
              ),
            );
          } else reject(new PodmanStartError(`Cannot start Podman: ${err.message}`, { cause: err }));
        };
        child.once("error", onError);
        child.once("spawn", () => {
          child.off("error", onError);
          child.on("error", (err) => this.#opts.log.warn("podman service error", { error: err.message }));
          this.#child = child;
          child.once("exit", (code, signal) => this.#onExit(child, code, signal));
          this.#writePidFile(child.pid!).catch((err: Error) =>
            this.#opts.log.warn("cannot write the podman service's pid file", { error: err.message })
          );
          this.#opts.log.info("started podman service", {
            pid: child.pid,
            socket: this.#opts.socketPath,
            ...(this.#globalArgs.length ? { flags: this.#globalArgs.join(" ") } : {}),
            ...(hookArgs.length ? { hooks: hookArgs.filter((a) => a !== "--hooks-dir").join(" ") } : {}),
          });
          resolve(child);
        });
      });
    } finally {
      closeSync(fd); // the child has its own copy
    }
  }

  /**
   * Writes the hook files into this service's private hooks directory (each atomically: Podman reads the directory at
   * every container start) and removes any other hook there; returns the `--hooks-dir` flags.
   */
  async #writeHooks(): Promise<string[]> {
    const dir = this.hooksDir;
    if (dir === undefined) return [];
    const files = this.#opts.hooks!.files;
    try {
      await ensurePrivateDirectory(dir);
      const st = await stat(dir);
      const uid = Deno.uid();
      if (uid !== null && st.uid !== uid) throw new Error(`it belongs to uid ${st.uid}, not to us (uid ${uid})`);
      this.#hooksWritten = true;
      for (const name of await readdir(dir)) {
        if (!Object.hasOwn(files, name)) await rm(`${dir}/${name}`, { force: true, recursive: true });
      }
      for (const [name, content] of Object.entries(files)) {
        // A name without ".json" is skipped by Podman, so a half-written file is never read.
        const temp = `${dir}/.${name}.tmp`;
        await writeFile(temp, JSON.stringify(content, null, 2) + "\n", { mode: 0o600 });
        await rename(temp, `${dir}/${name}`);
      }
    } catch (err) {
      throw new PodmanStartError(
        `Cannot write the OCI hooks of the Podman service in "${dir}": ${(err as Error).message}`,
        { cause: err },
      );
    }
    const defaults: string[] = [];
    for (const d of DEFAULT_HOOKS_DIRS) {
      if (await stat(d).then((st) => st.isDirectory(), () => false)) defaults.push(d);
    }
    return hooksDirArgs(dir, defaults);
  }

  async #writePidFile(pid: number): Promise<void> {
    const startTime = await processStartTime(pid);
    if (startTime === undefined) return;
    const record: PidRecord = { pid, startTime, socket: this.#opts.socketPath };
    await writeFile(this.#pidPath, JSON.stringify(record) + "\n", { mode: 0o600 });
  }

  /** The last lines the service wrote, without Podman's log decorations. */
  async #logTail(): Promise<string> {
    try {
      return lastLines(await readFile(this.logPath, "utf8"), 3);
    } catch {
      return "";
    }
  }

  #onExit(child: ChildProcess, code: number | null, signal: string | null): void {
    if (this.#child !== child) return;
    this.#child = undefined;
    // A service that dies before it answered is the start's failure to report, not a crash to restart from.
    if (this.#stopping || this.#awaitingReady === child) return;
    this.#opts.log.warn("podman service exited", { code, signal });
    // Whatever the service forked (its re-executed self in the user namespace) would go on serving the socket that
    // the restart replaces: end the group first.
    terminateProcessGroup(child.pid!, 2_000).finally(() => {
      if (!this.#stopping) this.#scheduleRestart();
    });
  }

  #scheduleRestart(): void {
    const delayMs = Math.min(30_000, 250 * 2 ** Math.min(this.#restarts, 7));
    this.#restarts++;
    this.#opts.log.info("restarting podman service", { inMs: delayMs, restarts: this.#restarts });
    this.#restartTimer = setTimeout(() => {
      this.#restartTimer = undefined;
      if (this.#stopping) return;
      this.#spawnAndWait().then(() => {
        this.#restarts = 0;
        this.#sameFailures = 0;
        this.#lastFailure = "";
        this.#opts.log.info("podman service is back", { pid: this.pid });
      }, (err: Error) => {
        if (this.#stopping) return;
        // A failure that repeats word for word is said once, then counted: the backoff keeps retrying quietly.
        if (err.message === this.#lastFailure) {
          this.#sameFailures++;
          this.#opts.log.debug("podman service restart failed the same way again", { times: this.#sameFailures });
        } else {
          this.#lastFailure = err.message;
          this.#sameFailures = 1;
          this.#opts.log.error("podman service restart failed", { error: err.message });
        }
        if (!this.#child && !this.#restartTimer) this.#scheduleRestart();
      });
    }, delayMs);
  }
}
