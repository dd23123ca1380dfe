/**
 * Finds or provides the Podman REST service: use one that answers on the socket, or start
 * `podman system service --time=0` there as our child, restart it when it dies, and stop it on exit.
 * @module
 */
import { type ChildProcess, spawn } from "node:child_process";
import { rm, stat } from "node:fs/promises";
import { CriError } from "../errors.ts";
import type { Logger } from "../observability/log.ts";
import type { PodmanSystem } from "./system.ts";
import { isSupportedApi, libpodApiVersion, MIN_LIBPOD_API } from "./system.ts";

/** How the Podman service is provided. */
export interface PodmanServiceOptions {
  socketPath: string;
  /** Start and supervise our own service when nothing answers. */
  embedded: boolean;
  binary: string;
  startTimeoutMs: number;
  log: Logger;
}

/** Start-up failures that end the process with a message (not CRI errors: no call is running). */
export class PodmanStartError extends Error {
  /** Creates a start-up error. */
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "PodmanStartError";
  }
}

/** The Podman service cri-podman talks to, and, if we started it, its supervisor. */
export class PodmanService {
  readonly #opts: PodmanServiceOptions;
  readonly #system: PodmanSystem;
  #child: ChildProcess | undefined;
  #stopping = false;
  #restarts = 0;
  #restartTimer: ReturnType<typeof setTimeout> | undefined;
  #recentOutput: string[] = [];
  /** Whether the service is our child. */
  embedded = false;
  /** The libpod API version Podman reported at start. */
  apiVersion = "";

  /** Prepares (does not start) the service for `system`'s socket. */
  constructor(system: PodmanSystem, opts: PodmanServiceOptions) {
    this.#system = system;
    this.#opts = opts;
  }

  /** PID of the embedded service, if we run one. */
  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** Connects to a running service or starts ours, then checks the API version. */
  async start(): Promise<void> {
    const reachable = await this.#ping(1_000);
    if (!reachable) {
      if (!this.#opts.embedded) {
        throw new PodmanStartError(
          `Podman does not answer on "${this.#opts.socketPath}": start it with ` +
            `\`podman system service --time=0 unix://${this.#opts.socketPath}\`, or enable podman.embedded_service`,
        );
      }
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

  /** Stops the embedded service (SIGTERM, then SIGKILL after 5 s); a service we did not start is left alone. */
  async stop(): Promise<void> {
    this.#stopping = true;
    if (this.#restartTimer) clearTimeout(this.#restartTimer);
    await this.#killChild();
  }

  async #killChild(): Promise<void> {
    const child = this.#child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
    await exited;
    clearTimeout(timer);
  }

  async #ping(timeoutMs: number): Promise<boolean> {
    try {
      await this.#system.ping({ signal: AbortSignal.timeout(timeoutMs) });
      return true;
    } catch (err) {
      if (err instanceof CriError && (err.code === "Unavailable" || err.code === "DeadlineExceeded")) return false;
      throw err;
    }
  }

  async #spawnAndWait(): Promise<void> {
    await this.#removeStaleSocket();
    await this.#spawn();
    const deadline = Date.now() + this.#opts.startTimeoutMs;
    while (Date.now() < deadline) {
      if (this.#child?.exitCode !== null && this.#child?.exitCode !== undefined) break;
      if (await this.#ping(1_000)) return;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const output = this.#recentOutput.join("\n");
    const wasStopping = this.#stopping;
    this.#stopping = true; // the exit we cause now is not a crash to restart from
    await this.#killChild();
    this.#stopping = wasStopping;
    this.#child = undefined;
    throw new PodmanStartError(
      `The Podman service we started on "${this.#opts.socketPath}" did not answer within ` +
        `${this.#opts.startTimeoutMs} ms${output ? `; it said:\n${output}` : ""}`,
    );
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

  #spawn(): Promise<void> {
    return new Promise((resolve, reject) => {
      const args = ["system", "service", "--time=0", `unix://${this.#opts.socketPath}`];
      const child = spawn(this.#opts.binary, args, { stdio: ["ignore", "pipe", "pipe"] });
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
        this.#recentOutput = [];
        for (const stream of [child.stdout, child.stderr]) {
          stream?.setEncoding("utf8");
          stream?.on("data", (chunk: string) => {
            for (const line of chunk.split("\n")) {
              if (!line.trim()) continue;
              this.#recentOutput = [...this.#recentOutput.slice(-19), line];
              this.#opts.log.debug("podman service", { line });
            }
          });
        }
        child.once("exit", (code, signal) => this.#onExit(child, code, signal));
        this.#opts.log.info("started podman service", { pid: child.pid, socket: this.#opts.socketPath });
        resolve();
      });
    });
  }

  #onExit(child: ChildProcess, code: number | null, signal: string | null): void {
    if (this.#child !== child) return;
    this.#child = undefined;
    if (this.#stopping) return;
    this.#opts.log.warn("podman service exited", { code, signal });
    this.#scheduleRestart();
  }

  #scheduleRestart(): void {
    const delayMs = Math.min(30_000, 250 * 2 ** Math.min(this.#restarts, 7));
    this.#restarts++;
    this.#opts.log.warn("restarting podman service", { inMs: delayMs, restarts: this.#restarts });
    this.#restartTimer = setTimeout(() => {
      this.#restartTimer = undefined;
      if (this.#stopping) return;
      this.#spawnAndWait().then(() => {
        this.#restarts = 0;
        this.#opts.log.info("podman service is back", { pid: this.pid });
      }, (err: Error) => {
        this.#opts.log.error("podman service restart failed", { error: err.message });
        if (!this.#stopping && !this.#child && !this.#restartTimer) this.#scheduleRestart();
      });
    }, delayMs);
  }
}
