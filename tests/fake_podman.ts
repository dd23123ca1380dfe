/**
 * A stateful, in-memory fake of the Podman port (src/podman/port.ts) for handler tests: pods with infra containers,
 * containers, images, networks, exec sessions and an event feed, with Podman 4.3's answers where handlers depend on
 * them (a taken name is "name-in-use", an absent object is undefined or a no-op, a stopped container cannot exec).
 * Every call is logged with whether its signal was aborted; `failNext()` makes the next call of an operation fail
 * with a reason, and `hangNext()` makes it wait until its signal aborts. Test code only: it is never shipped.
 * @module
 */
import { AsyncQueue } from "../src/streaming/async_queue.ts";
import type { PodmanEvent, PodmanEventHandlers } from "../src/podman/events.ts";
import type { ExecRunOptions, ExecRunResult } from "../src/podman/exec.ts";
import { CriError } from "../src/errors.ts";
import { PodmanError, type PodmanFailure } from "../src/podman/errors.ts";
import type {
  CallOptions,
  ContainersPort,
  EventsPort,
  EventSubscription,
  ExecPort,
  ImagesPort,
  NetworksPort,
  PodmanPort,
  PodsPort,
  SystemPort,
} from "../src/podman/port.ts";
import type {
  LibpodContainerInspect,
  LibpodContainerListItem,
  LibpodContainerSpec,
  LibpodImageInspect,
  LibpodImageSummary,
  LibpodInfo,
  LibpodNetwork,
  LibpodPodInspect,
  LibpodPodListItem,
  LibpodPodSpec,
  LibpodVersion,
  RegistryCredentials,
} from "../src/podman/types.ts";

/** Where the fake's containers' writable layers are said to live. */
export const FAKE_GRAPH_ROOT = "/home/user/.local/share/containers/storage";

/** One call the fake answered. */
export interface FakeCall {
  /** `group.method`, e.g. `pods.create`. */
  op: string;
  args: unknown[];
  /** Whether the call's signal was aborted by the time the call ended. */
  aborted: boolean;
}

/** A container the fake holds. */
export interface FakeContainer {
  id: string;
  name: string;
  podId: string;
  isInfra: boolean;
  created: string;
  status: "created" | "running" | "exited" | "stopping";
  pid: number;
  exitCode: number;
  startedAt: string;
  finishedAt: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  imageId: string;
  imageName: string;
  spec: LibpodContainerSpec | undefined;
  ip: string;
  networks: string[];
}

/** A pod the fake holds. */
export interface FakePod {
  id: string;
  name: string;
  created: string;
  labels: Record<string, string>;
  infraId: string;
  hostname: string;
  spec: LibpodPodSpec;
}

/** What `exec.run` answers, by default `{ exitCode: 0 }` with no output. */
export type ExecBehaviour = (containerId: string, argv: readonly string[], opts: ExecRunOptions) => Promise<
  Partial<ExecRunResult>
>;

const hex = (n: number) =>
  Array.from(crypto.getRandomValues(new Uint8Array(n / 2)), (b) => b.toString(16).padStart(2, "0")).join("");

/** What a streamed process (exec.open, containers.attach) does in the fake: reads stdin, writes, ends with a code. */
export type StreamBehaviour = (io: {
  argv: readonly string[];
  tty: boolean;
  stdin: AsyncIterable<Uint8Array>;
  stdout(bytes: Uint8Array): void;
  stderr(bytes: Uint8Array): void;
  /** Terminal sizes received so far. */
  sizes: { width: number; height: number }[];
}) => Promise<number>;

/** Docker's 8-byte frame header (stream, 0, 0, 0, big-endian length) and the payload, as Podman sends without a TTY. */
function dockerFrame(stream: 1 | 2, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(8 + payload.length);
  out[0] = stream;
  new DataView(out.buffer).setUint32(4, payload.length);
  out.set(payload, 8);
  return out;
}

/** Port methods for which an absent object is no error (undefined from inspect, a no-op for kill, stop, remove). */
const ABSENT_IS_NO_ERROR: ReadonlySet<string> = new Set([
  "images.inspect",
  "images.removeById",
  "pods.inspect",
  "pods.kill",
  "pods.remove",
  "containers.inspect",
  "containers.stop",
  "containers.remove",
  "networks.inspect",
  "networks.remove",
]);

/** The fake. Use its groups as `ctx.podman` (it implements PodmanPort) and inspect its state in assertions. */
export class FakePodman implements PodmanPort {
  readonly pods_ = new Map<string, FakePod>();
  readonly containers_ = new Map<string, FakeContainer>();
  readonly images_ = new Map<string, LibpodImageInspect>();
  readonly networks_ = new Map<string, LibpodNetwork>();
  readonly calls: FakeCall[] = [];
  /** Podman's info; tests change fields (cgroup controllers, OCI runtime) as they need. */
  info: LibpodInfo = {
    host: {
      cgroupManager: "cgroupfs",
      cgroupVersion: "v1",
      cgroupControllers: [],
      networkBackend: "netavark",
      ociRuntime: { name: "runc", path: "/usr/bin/runc", version: "runc 1.1.5" },
      security: { rootless: true },
      slirp4netns: { executable: "/usr/bin/slirp4netns" },
      kernel: "6.1.0",
    },
    store: { graphRoot: "/nonexistent/graph-root", graphDriverName: "overlay" },
    version: { Version: "4.3.1", APIVersion: "4.3.1" },
  };
  /** What exec answers. */
  execBehaviour: ExecBehaviour = () => Promise.resolve({ exitCode: 0 });
  /** What a streamed exec or attach does (default: copies stdin to stdout, exit code 0). */
  streamBehaviour: StreamBehaviour = async (io) => {
    for await (const chunk of io.stdin) io.stdout(chunk);
    return 0;
  };
  /** Exec sessions and attachments still open. */
  readonly openStreams = new Set<string>();
  readonly #failures = new Map<string, Array<{ what: PodmanError | "hang"; when: (args: unknown[]) => boolean }>>();
  readonly #subscribers = new Set<{ types: readonly string[]; handlers: PodmanEventHandlers }>();
  #heldEvents: Array<() => void> | undefined;
  /** Between disconnectEvents() and reconnectEvents(): events are lost, as on a broken stream. */
  #eventsLost = false;
  #nextPid = 10_000;
  #nextIp = 2;
  #clock = Date.parse("2026-01-01T00:00:00Z");

  /**
   * The next call of `op` (e.g. "pods.start") — the next one whose arguments `when` accepts, if given — rejects with
   * `reason` and a Podman-like message.
   */
  failNext(
    op: string,
    reason: PodmanFailure | PodmanError,
    message = `fake failure: ${String(reason)}`,
    when: (args: unknown[]) => boolean = () => true,
  ): void {
    const err = reason instanceof PodmanError ? reason : new PodmanError(reason, `${op}: ${message}`);
    if (err.reason === "not-found" && ABSENT_IS_NO_ERROR.has(op)) {
      // The port answers these for an absent object with undefined or a no-op (src/podman/port.ts): a test that
      // scripts "not-found" here would test a failure the real port cannot produce.
      throw new Error(`${op} never fails with "not-found" (an absent object is no error for it)`);
    }
    this.#queue(op).push({ what: err, when });
  }

  /** The next call of `op` (that `when` accepts) waits until its signal aborts, then rejects as Podman's client would. */
  hangNext(op: string, when: (args: unknown[]) => boolean = () => true): void {
    this.#queue(op).push({ what: "hang", when });
  }

  /** The calls of one operation, in order. */
  callsOf(op: string): FakeCall[] {
    return this.calls.filter((c) => c.op === op);
  }

  /** Adds an image under `names` (e.g. "docker.io/library/busybox:latest") and returns its 64-hex ID. */
  addImage(names: string[], config: LibpodImageInspect["Config"] = {}): string {
    const id = hex(64);
    this.images_.set(id, {
      Id: id,
      Digest: `sha256:${hex(64)}`,
      RepoTags: names,
      RepoDigests: names.map((n) => `${n.replace(/:[^:/]*$/, "")}@sha256:${hex(64)}`),
      Size: 1_000_000,
      Created: new Date(this.#clock).toISOString(),
      Config: { Cmd: ["/bin/sh"], Env: ["PATH=/bin"], ...config },
    });
    this.#emit("image", "pull", id, names[0] ?? "", {});
    return id;
  }

  // ------------------------------------------------------------------------------------------------------------
  // The port.

  readonly system: SystemPort = {
    ping: (opts) => this.#call("system.ping", [], opts, () => undefined),
    version: (opts) =>
      this.#call("system.version", [], opts, (): LibpodVersion => ({
        Version: "4.3.1",
        ApiVersion: "1.41",
        Components: [{ Name: "Podman Engine", Version: "4.3.1", Details: { APIVersion: "4.3.1" } }],
      })),
    info: (opts) => this.#call("system.info", [], opts, () => structuredClone(this.info)),
  };

  readonly images: ImagesPort = {
    list: (opts) =>
      this.#call("images.list", [], opts, (): LibpodImageSummary[] =>
        [...this.images_.values()].map((i) => ({
          Id: i.Id,
          RepoTags: i.RepoTags ?? [],
          RepoDigests: i.RepoDigests ?? [],
          Size: i.Size,
          Created: 0,
        }))),
    inspect: (nameOrId, opts) => this.#call("images.inspect", [nameOrId], opts, () => this.#findImage(nameOrId)),
    pull: (
      reference: string,
      opts: CallOptions & { credentials?: RegistryCredentials; tlsVerify?: boolean } = {},
    ) =>
      this.#call("images.pull", [reference, opts.credentials, opts.tlsVerify], opts, () => {
        const found = this.#findImage(reference);
        if (found) return found.Id;
        return this.addImage([reference]);
      }),
    removeById: (id, names, opts) =>
      this.#call("images.removeById", [id, names], opts, () => {
        if (!this.images_.has(id)) return;
        const users = [...this.containers_.values()].filter((c) => c.imageId === id);
        if (users.length > 0) {
          throw new PodmanError("in-use", `Cannot remove image "${id}": containers use it (${users[0]!.name})`);
        }
        this.images_.delete(id);
        this.#emit("image", "remove", id, names[0] ?? "", {});
      }),
  };

  readonly pods: PodsPort = {
    create: (spec, opts) =>
      this.#call("pods.create", [spec], opts, () => {
        if ([...this.pods_.values()].some((p) => p.name === spec.name)) {
          throw new PodmanError("name-in-use", `Cannot create pod "${spec.name}": name "${spec.name}" is in use`, {
            status: 409,
          });
        }
        const id = hex(64);
        const infra = this.#newContainer({
          name: `${id.slice(0, 12)}-infra`,
          podId: id,
          isInfra: true,
          // Podman's REST pod create copies the pod spec's fields with matching JSON names into the infra
          // container's spec (pkg/api/handlers/libpod/pods.go), labels among them: its events carry the pod's labels.
          labels: { ...spec.labels },
          annotations: {},
          imageId: "",
          imageName: spec.infra_image ?? "localhost/podman-pause:4.3.1-0",
          spec: undefined,
          networks: Object.keys(spec.Networks ?? {}),
        });
        this.pods_.set(id, {
          id,
          name: spec.name,
          created: this.#now(),
          labels: { ...spec.labels },
          infraId: infra.id,
          hostname: spec.hostname ?? spec.name,
          spec: structuredClone(spec),
        });
        this.#emit("pod", "create", id, spec.name, {});
        return id;
      }),
    start: (id, opts) =>
      this.#call("pods.start", [id], opts, () => {
        const pod = this.#pod(id);
        for (const c of this.#members(pod.id)) this.#start(c);
        this.#emit("pod", "start", pod.id, pod.name, {});
      }),
    kill: (id, opts) =>
      this.#call("pods.kill", [id], opts, () => {
        const pod = this.#findPod(id);
        if (!pod) return;
        for (const c of this.#members(pod.id)) this.#stop(c, 137);
        this.#emit("pod", "stop", pod.id, pod.name, {});
      }),
    remove: (id, opts) =>
      this.#call("pods.remove", [id], opts, () => {
        const pod = this.#findPod(id);
        if (!pod) return;
        for (const c of this.#members(pod.id)) this.#remove(c);
        this.pods_.delete(pod.id);
        this.#emit("pod", "remove", pod.id, pod.name, {});
      }),
    inspect: (id, opts) =>
      this.#call("pods.inspect", [id], opts, () => {
        const pod = this.#findPod(id);
        return pod ? this.#podInspect(pod) : undefined;
      }),
    list: (labels, opts = {}) =>
      this.#call("pods.list", [labels, opts.ids], opts, (): LibpodPodListItem[] =>
        [...this.pods_.values()]
          .filter((p) => matchesLabels(p.labels, labels) && (!opts.ids || opts.ids.includes(p.id)))
          .map((p) => {
            const inspect = this.#podInspect(p);
            return {
              Id: p.id,
              Name: p.name,
              Created: p.created,
              Status: inspect.State,
              InfraId: p.infraId,
              Labels: { ...p.labels },
              Containers: (inspect.Containers ?? []).map((c) => ({ Id: c.Id, Names: c.Name, Status: c.State })),
              Networks: this.containers_.get(p.infraId)?.networks ?? [],
            };
          })),
  };

  readonly containers: ContainersPort = {
    create: (spec, opts) =>
      this.#call("containers.create", [spec], opts, () => {
        if ([...this.containers_.values()].some((c) => c.name === spec.name)) {
          throw new PodmanError(
            "name-in-use",
            `Cannot create container "${spec.name}": the container name "${spec.name}" is already in use`,
            { status: 500 },
          );
        }
        const pod = this.#pod(spec.pod);
        const image = this.#findImage(spec.image);
        if (!image) throw new PodmanError("not-found", `Cannot create container "${spec.name}": image not known`);
        const c = this.#newContainer({
          name: spec.name,
          podId: pod.id,
          isInfra: false,
          labels: { ...spec.labels },
          annotations: { ...spec.annotations },
          imageId: image.Id,
          imageName: spec.raw_image_name ?? spec.image,
          spec: structuredClone(spec),
          networks: [],
        });
        this.#emit("container", "create", c.id, c.name, { ...c.labels, podId: pod.id });
        return c.id;
      }),
    start: (id, opts) => this.#call("containers.start", [id], opts, () => this.#start(this.#container(id))),
    stop: (id, opts) =>
      this.#call("containers.stop", [id, opts.timeoutSeconds], opts, () => {
        const c = this.#findContainer(id);
        if (c?.status !== "running") return false;
        this.#stop(c, opts.timeoutSeconds === 0 ? 137 : 0);
        return true;
      }),
    remove: (id, opts) =>
      this.#call("containers.remove", [id], opts, () => {
        const c = this.#findContainer(id);
        if (c) this.#remove(c);
      }),
    list: (labels, opts = {}) =>
      this.#call(
        "containers.list",
        [labels, opts.ids, opts.pods],
        opts,
        (): LibpodContainerListItem[] =>
          [...this.containers_.values()]
            .filter((c) =>
              matchesLabels(c.labels, labels) && (!opts.ids || opts.ids.includes(c.id)) &&
              (!opts.pods || opts.pods.includes(c.podId))
            )
            .map((c) => ({
              Id: c.id,
              Names: [c.name],
              Created: c.created,
              State: c.status,
              Image: c.imageName,
              ImageID: c.imageId,
              Labels: { ...c.labels },
              Pod: c.podId,
              IsInfra: c.isInfra,
              ExitCode: c.exitCode,
            })),
      ),
    inspect: (id, opts) =>
      this.#call("containers.inspect", [id], opts, () => {
        const c = this.#findContainer(id);
        return c ? this.#containerInspect(c) : undefined;
      }),
    update: (id, resources, opts) =>
      this.#call("containers.update", [id, resources], opts, () => void this.#container(id)),
    attach: (id, opts) =>
      this.#call("containers.attach", [id, opts.stdin, opts.stdout, opts.stderr], opts, () => {
        const c = this.#container(id);
        if (c.status !== "running") {
          throw new PodmanError("not-running", `Cannot attach to container "${id}": container state improper`);
        }
        const { exitCode: _exitCode, kill: _kill, ...stream } = this.#stream(
          `attach:${c.id}`,
          [],
          Boolean(c.spec?.terminal),
        );
        return stream;
      }),
  };

  readonly networks: NetworksPort = {
    inspect: (name, opts) =>
      this.#call("networks.inspect", [name], opts, () => structuredClone(this.networks_.get(name))),
    createBridge: (name, subnet, labels, opts) =>
      this.#call("networks.createBridge", [name, subnet, labels], opts, () => {
        if (this.networks_.has(name)) {
          throw new PodmanError("name-in-use", `Cannot create network "${name}": network name ${name} already used`);
        }
        if ([...this.networks_.values()].some((n) => n.subnets?.some((s) => s.subnet === subnet))) {
          throw new PodmanError("subnet-overlap", `Cannot create network "${name}": subnet ${subnet} is already used`);
        }
        const net: LibpodNetwork = {
          name,
          id: hex(64),
          driver: "bridge",
          subnets: [{ subnet }],
          labels: { ...labels },
        };
        this.networks_.set(name, net);
        return structuredClone(net);
      }),
    remove: (name, opts) =>
      this.#call("networks.remove", [name], opts, () => {
        if ([...this.containers_.values()].some((c) => c.networks.includes(name))) {
          throw new PodmanError("in-use", `Cannot remove network "${name}": network is being used`);
        }
        this.networks_.delete(name);
      }),
  };

  readonly exec: ExecPort = {
    open: (containerId, argv, opts) =>
      this.#call("exec.open", [containerId, argv, opts.tty, opts.stdin], opts, () => {
        const c = this.#container(containerId);
        if (c.status !== "running") {
          throw new PodmanError("not-running", `Cannot exec in container "${containerId}": container state improper`);
        }
        return { execId: hex(64), ...this.#stream(`exec:${c.id}:${hex(8)}`, argv, opts.tty) };
      }),
    run: (containerId, argv, opts = {}) =>
      this.#call("exec.run", [containerId, argv], opts, async (): Promise<ExecRunResult> => {
        const c = this.#container(containerId);
        if (c.status !== "running") {
          throw new PodmanError("not-running", `Cannot exec in container "${containerId}": container state improper`);
        }
        const out = await this.execBehaviour(c.id, argv, opts);
        return {
          exitCode: out.exitCode ?? 0,
          stdout: out.stdout ?? new Uint8Array(),
          stderr: out.stderr ?? new Uint8Array(),
          timedOut: out.timedOut ?? false,
          truncated: out.truncated ?? false,
        };
      }),
  };

  #stream(key: string, argv: readonly string[], tty: boolean) {
    const stdin = new AsyncQueue<Uint8Array>({ highWater: Infinity });
    const output = new AsyncQueue<Uint8Array>({ highWater: Infinity });
    const sizes: { width: number; height: number }[] = [];
    this.openStreams.add(key);
    let killed = false;
    const done = this.streamBehaviour({
      argv,
      tty,
      stdin,
      sizes,
      stdout: (b) => output.push(tty ? b.slice() : dockerFrame(1, b)),
      stderr: (b) => output.push(tty ? b.slice() : dockerFrame(2, b)),
    }).finally(() => output.end());
    return {
      output: () => output,
      write: (chunk: Uint8Array) => {
        stdin.push(chunk.slice());
        return Promise.resolve();
      },
      endInput: () => stdin.end(),
      resize: (size: { width: number; height: number }) => {
        sizes.push(size);
        return Promise.resolve();
      },
      exitCode: () => done.then((code) => (killed ? 137 : code)),
      kill: () => {
        killed = true;
        stdin.end();
        output.end();
        return Promise.resolve();
      },
      close: () => {
        this.openStreams.delete(key);
        output.end();
        return Promise.resolve();
      },
    };
  }

  readonly events: EventsPort = {
    subscribe: (types, handlers): EventSubscription => {
      const sub = { types, handlers };
      this.#subscribers.add(sub);
      // A rejected onConnected makes the real stream reconnect and call it again; the fake does not reconnect.
      const connected = Promise.resolve().then(() => handlers.onConnected()).catch(() => {});
      return {
        stop: async () => {
          this.#subscribers.delete(sub);
          await connected;
        },
      };
    },
  };

  /** Closes nothing: the fake holds no connection. */
  close(): Promise<void> {
    return Promise.resolve();
  }

  // ------------------------------------------------------------------------------------------------------------
  // Behind the port.

  /** Tells every subscriber the feed broke, as a lost Podman would; events are lost until {@link reconnectEvents}. */
  disconnectEvents(err = new PodmanError("unreachable", "fake: event stream lost")): void {
    this.#eventsLost = true;
    for (const sub of this.#subscribers) sub.handlers.onDisconnected?.(err);
  }

  /** Re-opens a broken feed: every subscriber's onConnected runs again (the cache's full read); resolves after it. */
  async reconnectEvents(): Promise<void> {
    this.#eventsLost = false;
    for (const sub of this.#subscribers) await sub.handlers.onConnected();
  }

  /**
   * Holds every event from now on instead of delivering it, until {@link FakePodman.releaseEvents}: a test can then
   * tell a handler's own refresh (read-your-writes) from the event feed's.
   */
  holdEvents(): void {
    this.#heldEvents ??= [];
  }

  /** Delivers the held events, in order, and delivers new ones as they come again. */
  releaseEvents(): void {
    const held = this.#heldEvents ?? [];
    this.#heldEvents = undefined;
    for (const deliver of held) queueMicrotask(deliver);
  }

  /** Marks a container exited behind cri-podman's back (as `podman kill` would), with its event. */
  exitBehindOurBack(id: string, exitCode = 137): void {
    this.#stop(this.#container(id), exitCode);
  }

  #queue(op: string): Array<{ what: PodmanError | "hang"; when: (args: unknown[]) => boolean }> {
    let q = this.#failures.get(op);
    if (!q) this.#failures.set(op, q = []);
    return q;
  }

  async #call<T>(op: string, args: unknown[], opts: CallOptions | undefined, fn: () => T | Promise<T>): Promise<T> {
    const record: FakeCall = { op, args, aborted: false };
    this.calls.push(record);
    const signal = opts?.signal;
    try {
      if (signal?.aborted) throw aborted(op, signal);
      const queue = this.#failures.get(op) ?? [];
      const index = queue.findIndex((f) => f.when(args));
      const failure = index >= 0 ? queue.splice(index, 1)[0]!.what : undefined;
      if (failure === "hang") {
        await new Promise<never>((_, reject) => {
          if (!signal) return; // never settles: the test forgot the signal, and times out
          signal.addEventListener("abort", () => reject(aborted(op, signal)), { once: true });
        });
      }
      if (failure) throw failure;
      return structuredCloneIfObject(await fn());
    } finally {
      record.aborted = signal?.aborted ?? false;
    }
  }

  #now(): string {
    this.#clock += 1_000;
    return new Date(this.#clock).toISOString();
  }

  #newContainer(
    init: Omit<FakeContainer, "id" | "created" | "status" | "pid" | "exitCode" | "startedAt" | "finishedAt" | "ip">,
  ): FakeContainer {
    const c: FakeContainer = {
      ...init,
      id: hex(64),
      created: this.#now(),
      status: "created",
      pid: 0,
      exitCode: 0,
      startedAt: "0001-01-01T00:00:00Z",
      finishedAt: "0001-01-01T00:00:00Z",
      ip: "",
    };
    this.containers_.set(c.id, c);
    return c;
  }

  #start(c: FakeContainer): void {
    if (c.status === "running") return;
    c.status = "running";
    c.pid = this.#nextPid++;
    c.startedAt = this.#now();
    if (c.isInfra && c.networks.length > 0) c.ip = `10.85.0.${this.#nextIp++}`;
    this.#emit("container", "start", c.id, c.name, { ...c.labels, podId: c.podId });
  }

  #stop(c: FakeContainer, exitCode: number): void {
    if (c.status !== "running") return;
    c.status = "exited";
    c.pid = 0;
    c.exitCode = exitCode;
    c.finishedAt = this.#now();
    this.#emit("container", "died", c.id, c.name, { ...c.labels, podId: c.podId, containerExitCode: String(exitCode) });
  }

  #remove(c: FakeContainer): void {
    this.containers_.delete(c.id);
    this.#emit("container", "remove", c.id, c.name, { ...c.labels, podId: c.podId });
  }

  #members(podId: string): FakeContainer[] {
    const all = [...this.containers_.values()].filter((c) => c.podId === podId);
    return all.sort((a, b) => Number(b.isInfra) - Number(a.isInfra)); // the infra container first, as Podman does
  }

  #findPod(idOrName: string): FakePod | undefined {
    return this.pods_.get(idOrName) ?? [...this.pods_.values()].find((p) => p.name === idOrName) ??
      uniquePrefix([...this.pods_.values()], idOrName);
  }

  #pod(id: string): FakePod {
    const pod = this.#findPod(id);
    if (!pod) throw new PodmanError("not-found", `no pod with name or ID ${id} found: no such pod`, { status: 404 });
    return pod;
  }

  #findContainer(idOrName: string): FakeContainer | undefined {
    return this.containers_.get(idOrName) ?? [...this.containers_.values()].find((c) => c.name === idOrName) ??
      uniquePrefix([...this.containers_.values()], idOrName);
  }

  #container(id: string): FakeContainer {
    const c = this.#findContainer(id);
    if (!c) {
      throw new PodmanError("not-found", `no container with name or ID "${id}" found: no such container`, {
        status: 404,
      });
    }
    return c;
  }

  #findImage(nameOrId: string): LibpodImageInspect | undefined {
    const bare = nameOrId.replace(/^sha256:/, "");
    for (const image of this.images_.values()) {
      if (image.Id === bare || (bare.length >= 12 && image.Id.startsWith(bare))) return image;
      if (image.RepoTags?.includes(nameOrId) || image.RepoDigests?.includes(nameOrId)) return image;
    }
    return undefined;
  }

  #podInspect(pod: FakePod): LibpodPodInspect {
    const members = this.#members(pod.id);
    const infra = this.containers_.get(pod.infraId);
    const state = members.some((c) => c.status === "running")
      ? (members.every((c) => c.status === "running") ? "Running" : "Degraded")
      : members.some((c) => c.status === "exited")
      ? "Exited"
      : "Created";
    return {
      Id: pod.id,
      Name: pod.name,
      Created: pod.created,
      State: infra && infra.status !== "running" && state === "Running" ? "Degraded" : state,
      Hostname: pod.hostname,
      Labels: { ...pod.labels },
      InfraContainerID: pod.infraId,
      SharedNamespaces: pod.spec.shared_namespaces ?? [],
      Containers: members.map((c) => ({ Id: c.id, Name: c.name, State: c.status })),
    };
  }

  #containerInspect(c: FakeContainer): LibpodContainerInspect {
    const spec = c.spec;
    return {
      Id: c.id,
      Name: c.name,
      Created: c.created,
      State: {
        Status: c.status,
        Running: c.status === "running",
        Pid: c.pid,
        ExitCode: c.exitCode,
        StartedAt: c.startedAt,
        FinishedAt: c.finishedAt,
        OOMKilled: false,
      },
      Pod: c.podId,
      IsInfra: c.isInfra,
      Image: c.imageId,
      ImageName: c.imageName,
      StaticDir: `/nonexistent/containers/${c.id}/userdata`,
      Config: {
        User: spec?.user ?? "",
        Labels: { ...c.labels },
        Annotations: { ...c.annotations },
        StopSignal: spec?.stop_signal ?? 15,
      },
      NetworkSettings: {
        // Podman's clean-up after an exit releases the addresses (real Podman: once the clean-up has run).
        Networks: Object.fromEntries(c.networks.map((n) => [n, { IPAddress: c.status === "running" ? c.ip : "" }])),
      },
      HostConfig: {
        PidMode: spec?.pidns?.nsmode === "host" ? "host" : "",
        IpcMode: spec?.ipcns?.nsmode === "host" ? "host" : "",
      },
      GraphDriver: { Name: "overlay", Data: { UpperDir: `${FAKE_GRAPH_ROOT}/overlay/${c.id}/diff` } },
    };
  }

  #emit(type: string, action: string, id: string, name: string, attributes: Record<string, string>): void {
    if (this.#eventsLost) return;
    const event: PodmanEvent = { type, action, id, name, timeNano: BigInt(this.#clock) * 1_000_000n, attributes };
    for (const sub of this.#subscribers) {
      if (!sub.types.includes(type)) continue;
      const deliver = () => sub.handlers.onEvent(event);
      // After the call that caused it, as Podman's event log is read after the REST answer.
      if (this.#heldEvents) this.#heldEvents.push(deliver);
      else queueMicrotask(deliver);
    }
  }
}

/** What the real client throws when the call's signal aborts: the reason itself when it is classified. */
function aborted(op: string, signal: AbortSignal): Error {
  if (signal.reason instanceof CriError) return signal.reason;
  if ((signal.reason as Error | undefined)?.name === "TimeoutError") {
    return new PodmanError("timeout", `${op}: deadline exceeded`);
  }
  return new PodmanError("canceled", `${op}: canceled`, { cause: signal.reason });
}

function matchesLabels(labels: Record<string, string>, wanted: readonly string[]): boolean {
  return wanted.every((kv) => {
    const eq = kv.indexOf("=");
    return eq < 0 ? kv in labels : labels[kv.slice(0, eq)] === kv.slice(eq + 1);
  });
}

function uniquePrefix<T extends { id: string }>(items: T[], prefix: string): T | undefined {
  if (!/^[0-9a-f]{3,63}$/.test(prefix)) return undefined;
  const matches = items.filter((i) => i.id.startsWith(prefix));
  return matches.length === 1 ? matches[0] : undefined;
}

function structuredCloneIfObject<T>(value: T): T {
  if (value === null || typeof value !== "object" || value instanceof Uint8Array) return value;
  // Streams (exec.open, attach) are live objects with methods: handed out as they are.
  if (Object.values(value).some((v) => typeof v === "function")) return value;
  return structuredClone(value);
}
