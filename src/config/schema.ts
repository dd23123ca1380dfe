/**
 * The configuration of cri-podman: one valibot schema, the single source of every key, its type and its default.
 * @module
 */
import { isIP } from "node:net";
import * as v from "valibot";
import {
  absolutePathProblem,
  infraImageProblem,
  ipv4CidrProblem,
  listenAddressProblem,
  ociRuntimeProblem,
  quote,
  registryProblem,
  socketPathProblem,
} from "./rules.ts";

const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;

/** A string that passes `problem` (see rules.ts); the issue's message is what `problem` says is wrong. */
function checked(problem: (text: string) => string | undefined) {
  return v.pipe(
    v.string(),
    v.check<string, (issue: v.CheckIssue<string>) => string>(
      (text) => problem(text) === undefined,
      (issue) => problem(issue.input) ?? "is invalid",
    ),
  );
}

const socketPath = checked(socketPathProblem);
const positiveSeconds = v.pipe(
  v.number(),
  v.minValue(0, "must not be negative"),
  v.maxValue(3600, "must be at most 3600"),
);

/** Schema of the `[podman]` table. */
export const PodmanConfigSchema = v.strictObject({
  /** Podman's REST socket (libpod API): absolute, no `..`, under 108 bytes. */
  socket: socketPath,
  /** Start `podman system service` ourselves when nothing answers on `socket`. */
  embedded_service: v.boolean(),
  /** The `podman` executable used for the embedded service. */
  binary: v.pipe(v.string(), v.minLength(1, "must not be empty")),
  /** How long to wait for Podman to answer at start. */
  start_timeout_seconds: positiveSeconds,
  /** Deadline of one libpod request that has no CRI deadline of its own. */
  request_timeout_seconds: positiveSeconds,
});

/** Schema of the `[log]` table. */
export const LogConfigSchema = v.strictObject({
  level: v.picklist(LOG_LEVELS, `must be one of ${LOG_LEVELS.join(", ")}`),
  format: v.picklist(["text", "json"], "must be text or json"),
});

/** Schema of the `[images]` table. */
export const ImagesConfigSchema = v.strictObject({
  /** Registry hosts (`host` or `host:port`, no scheme or path) pulled from without TLS verification, HTTP allowed. */
  insecure_registries: v.array(checked(registryProblem)),
});

/** Schema of the `[pods]` table. */
export const PodsConfigSchema = v.strictObject({
  /** Image of every sandbox's infra container; "" = Podman's own pause image, built locally from catatonit. */
  infra_image: checked(infraImageProblem),
  /** The Podman bridge network cri-podman creates and owns; every pod with its own network joins it. */
  network: v.pipe(v.string(), v.regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/, "must be a valid Podman network name")),
  /** Subnet of that network until kubelet sends a pod CIDR (UpdateRuntimeConfig): an IPv4 network, /8 to /30. */
  default_subnet: checked(ipv4CidrProblem),
});

/** An IP address to bind the streaming server to. */
const bindAddress = checked((text) => isIP(text) === 0 ? `${quote(text)} is not an IP address` : undefined);
/** "" (no TLS) or an absolute path without `..`. */
const optionalPath = checked((text) => text === "" ? undefined : absolutePathProblem(text));

/** Schema of the `[streaming]` table: the exec/attach/port-forward server whose URLs Exec, Attach and PortForward return. */
export const StreamingConfigSchema = v.pipe(
  v.strictObject({
    /** Address to listen on; 127.0.0.1 keeps it to this host (kubelet proxies the streams). */
    address: bindAddress,
    /** TCP port; 0 = a free one, chosen at start. */
    port: v.pipe(
      v.number(),
      v.integer("must be an integer"),
      v.minValue(0, "must be 0–65535"),
      v.maxValue(65535, "must be 0–65535"),
    ),
    /** TLS certificate and key (PEM files); both "" = plain HTTP. */
    tls_cert: optionalPath,
    tls_key: optionalPath,
    /** How long a URL's single-use token stays valid. */
    token_ttl_seconds: v.pipe(
      v.number(),
      v.minValue(1, "must be at least 1"),
      v.maxValue(3600, "must be at most 3600"),
    ),
    /** A session with no traffic either way for this long is closed (kubelet's default: 4 h). */
    idle_timeout_seconds: v.pipe(
      v.number(),
      v.minValue(1, "must be at least 1"),
      v.maxValue(86400, "must be at most 86400"),
    ),
    /** Sessions at once; more are refused with 503. */
    max_sessions: v.pipe(v.number(), v.integer("must be an integer"), v.minValue(1, "must be at least 1")),
  }),
  v.check((s) => (s.tls_cert === "") === (s.tls_key === ""), "tls_cert and tls_key are set together or not at all"),
);

/** Schema of the `[metrics]` table: cri-podman's own metrics in the Prometheus text format. */
export const MetricsConfigSchema = v.strictObject({
  /** `IP:port` serving `GET /metrics`; "" = off. */
  address: checked(listenAddressProblem),
});

/** Schema of the whole configuration after defaults are applied. */
export const ConfigSchema = v.strictObject({
  /** The CRI socket kubelet and crictl connect to: absolute, no `..`, under 108 bytes. */
  listen: socketPath,
  /** How long in-flight calls may run after SIGINT/SIGTERM before they are cut. */
  shutdown_grace_seconds: positiveSeconds,
  /**
   * Serve a node (`cri-podman node`): host-network pods join Podman's rootless network namespace, and the streaming
   * URLs answer there, where pod IPs and host ports already do.
   */
  node: v.boolean(),
  podman: PodmanConfigSchema,
  images: ImagesConfigSchema,
  pods: PodsConfigSchema,
  /** RuntimeClass handler names → the OCI runtime (bare name or absolute path) Podman runs their containers with. */
  runtime_handlers: v.record(
    v.pipe(v.string(), v.regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, "handler names must be DNS labels")),
    checked(ociRuntimeProblem),
  ),
  streaming: StreamingConfigSchema,
  metrics: MetricsConfigSchema,
  log: LogConfigSchema,
});

/** The effective configuration: parsed once at start and frozen. */
export type Config = Readonly<v.InferOutput<typeof ConfigSchema>>;

/** A partial configuration, as a file, the environment or flags give it. */
export type ConfigLayer = {
  listen?: string;
  shutdown_grace_seconds?: number;
  node?: boolean;
  podman?: Partial<Config["podman"]>;
  images?: Partial<Config["images"]>;
  pods?: Partial<Config["pods"]>;
  streaming?: Partial<Config["streaming"]>;
  metrics?: Partial<Config["metrics"]>;
  runtime_handlers?: Record<string, string>;
  log?: Partial<Config["log"]>;
};

/** One documented key, for `--help`, the README and the example file. */
export interface ConfigKeyDoc {
  key: string;
  env: string;
  flag?: string;
  description: string;
}

/** Every key: its environment variable, its flag and what it does. Defaults come from {@link defaultConfig}. */
export const CONFIG_KEYS: readonly ConfigKeyDoc[] = [
  {
    key: "listen",
    env: "CRI_PODMAN_LISTEN",
    flag: "--listen",
    description: "CRI socket path (created 0660; absolute, under 108 bytes)",
  },
  {
    key: "shutdown_grace_seconds",
    env: "CRI_PODMAN_SHUTDOWN_GRACE_SECONDS",
    description: "Time in-flight calls get to finish on SIGINT/SIGTERM",
  },
  {
    key: "node",
    env: "CRI_PODMAN_NODE",
    flag: "--node",
    description: "Serve a node: host-network pods, pod IPs, host ports and streaming URLs all in the node that " +
      "`cri-podman node -- COMMAND` enters (kubelet, crictl, critest run there)",
  },
  {
    key: "podman.socket",
    env: "CRI_PODMAN_PODMAN_SOCKET",
    flag: "--podman-socket",
    description: "Podman REST (libpod) socket (absolute, under 108 bytes)",
  },
  {
    key: "podman.embedded_service",
    env: "CRI_PODMAN_PODMAN_EMBEDDED_SERVICE",
    flag: "--[no-]embedded-podman",
    description: "Start `podman system service` on podman.socket when nothing answers there, and supervise it",
  },
  { key: "podman.binary", env: "CRI_PODMAN_PODMAN_BINARY", description: "podman executable for the embedded service" },
  {
    key: "podman.start_timeout_seconds",
    env: "CRI_PODMAN_PODMAN_START_TIMEOUT_SECONDS",
    description: "How long to wait for Podman to answer at start",
  },
  {
    key: "podman.request_timeout_seconds",
    env: "CRI_PODMAN_PODMAN_REQUEST_TIMEOUT_SECONDS",
    description: "Deadline of a libpod request when the CRI call sets none (image pulls excepted)",
  },
  {
    key: "images.insecure_registries",
    env: "CRI_PODMAN_IMAGES_INSECURE_REGISTRIES",
    description: "Registries (host or host:port, no scheme or path; comma-separated in the environment) pulled " +
      "without TLS verification",
  },
  {
    key: "pods.infra_image",
    env: "CRI_PODMAN_PODS_INFRA_IMAGE",
    description: "Image of each sandbox's infra container (\"\" = Podman's own pause image, built locally)",
  },
  {
    key: "pods.network",
    env: "CRI_PODMAN_PODS_NETWORK",
    description: "Podman bridge network cri-podman creates and owns for pod networking",
  },
  {
    key: "pods.default_subnet",
    env: "CRI_PODMAN_PODS_DEFAULT_SUBNET",
    description: "Subnet of that network until kubelet sends a pod CIDR (IPv4 network address, /8 to /30)",
  },
  {
    key: "runtime_handlers",
    env: "CRI_PODMAN_RUNTIME_HANDLERS",
    description: 'RuntimeClass handlers → OCI runtime, a bare name or an absolute path ("name=runtime,…" in the ' +
      'environment); "" is Podman\'s default',
  },
  {
    key: "streaming.address",
    env: "CRI_PODMAN_STREAMING_ADDRESS",
    description: "Address of the exec/attach/port-forward server (kubelet proxies to it)",
  },
  { key: "streaming.port", env: "CRI_PODMAN_STREAMING_PORT", description: "Its TCP port (0 = a free one)" },
  {
    key: "streaming.tls_cert",
    env: "CRI_PODMAN_STREAMING_TLS_CERT",
    description: 'TLS certificate (PEM; "" = plain HTTP)',
  },
  { key: "streaming.tls_key", env: "CRI_PODMAN_STREAMING_TLS_KEY", description: "TLS key (PEM; set with tls_cert)" },
  {
    key: "streaming.token_ttl_seconds",
    env: "CRI_PODMAN_STREAMING_TOKEN_TTL_SECONDS",
    description: "How long a streaming URL's single-use token is valid",
  },
  {
    key: "streaming.idle_timeout_seconds",
    env: "CRI_PODMAN_STREAMING_IDLE_TIMEOUT_SECONDS",
    description: "A streaming session with no traffic for this long is closed",
  },
  {
    key: "streaming.max_sessions",
    env: "CRI_PODMAN_STREAMING_MAX_SESSIONS",
    description: "Streaming sessions at once (more get 503)",
  },
  {
    key: "metrics.address",
    env: "CRI_PODMAN_METRICS_ADDRESS",
    description: 'IP:port serving cri-podman\'s own metrics on GET /metrics, Prometheus text format ("" = off)',
  },
  { key: "log.level", env: "CRI_PODMAN_LOG_LEVEL", flag: "--log-level", description: "debug, info, warn or error" },
  { key: "log.format", env: "CRI_PODMAN_LOG_FORMAT", description: "text (one line per event) or json" },
];

/** Set to 1 in the environment of a command `cri-podman node` runs (`serve` refuses to run there). */
export const IN_NODE_ENV_VAR = "CRI_PODMAN_IN_NODE";

/** The defaults, which depend only on the user's runtime directory. */
export function defaultConfig(runtimeDir: string): Config {
  return {
    listen: `${runtimeDir}/cri-podman/cri-podman.sock`,
    shutdown_grace_seconds: 10,
    node: false,
    podman: {
      socket: `${runtimeDir}/podman/podman.sock`,
      embedded_service: true,
      binary: "podman",
      start_timeout_seconds: 30,
      request_timeout_seconds: 120,
    },
    images: { insecure_registries: ["localhost", "127.0.0.1", "[::1]"] },
    pods: { infra_image: "", network: "cri-podman", default_subnet: "10.85.0.0/16" },
    runtime_handlers: {},
    streaming: {
      address: "127.0.0.1",
      port: 0,
      tls_cert: "",
      tls_key: "",
      token_ttl_seconds: 60,
      idle_timeout_seconds: 4 * 3600,
      max_sessions: 64,
    },
    metrics: { address: "" },
    log: { level: "info", format: "text" },
  };
}
