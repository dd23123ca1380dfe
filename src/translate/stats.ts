/**
 * Resource usage as CRI messages: ContainerStats, PodSandboxStats and the cAdvisor-named metrics of
 * ListPodSandboxMetrics. Pure: the numbers come measured (see `cri/stats/`).
 * @module
 */
import type { MessageInitShape } from "@bufbuild/protobuf";
import {
  type ContainerStatsSchema,
  type MetricDescriptorSchema,
  MetricType,
  type PodSandboxMetricsSchema,
  type PodSandboxStatsSchema,
} from "../gen/runtime/v1/api_pb.ts";
import type { CriContainer } from "./container.ts";
import type { CriPodSandbox } from "./sandbox.ts";

/** A CRI ContainerStats as handlers return it. */
export type CriContainerStats = MessageInitShape<typeof ContainerStatsSchema>;
/** A CRI PodSandboxStats as handlers return it. */
export type CriPodSandboxStats = MessageInitShape<typeof PodSandboxStatsSchema>;
/** A CRI PodSandboxMetrics as handlers return it. */
export type CriPodSandboxMetrics = MessageInitShape<typeof PodSandboxMetricsSchema>;

/** The usage of one container's processes at one moment. */
export interface ContainerUsage {
  /** When it was measured, ns since the epoch. */
  timestampNs: bigint;
  /** Cumulative CPU time (user + system) of every process the container ran, ns; never decreases. */
  cpuNs: bigint;
  /** Average CPU use since the previous sample, in nano-cores; absent on the first sample. */
  cpuNanoCores?: bigint | undefined;
  /** Memory in use that cannot be reclaimed at once: no page cache is attributed to a process, so = usage. */
  workingSetBytes: bigint;
  /** Resident memory: anonymous + file-backed + shared. */
  usageBytes: bigint;
  /** Anonymous resident memory (cgroup's "rss"). */
  rssBytes: bigint;
  /** Minor + major page faults. */
  pageFaults: bigint;
  majorPageFaults: bigint;
  processes: number;
  threads: number;
  /** When the container's first process started, s since the epoch (a metric); 0 when not running. */
  startTimeSeconds?: number | undefined;
  writableLayer?: WritableLayerUsage | undefined;
}

/** Bytes and inodes of a container's writable layer. */
export interface WritableLayerUsage {
  timestampNs: bigint;
  /** Where the layer lives (the storage's graph root). */
  mountpoint: string;
  usedBytes: bigint;
  inodesUsed: bigint;
}

/** Counters of one interface of a pod's network namespace. */
export interface InterfaceUsage {
  name: string;
  rxBytes: bigint;
  rxPackets: bigint;
  rxErrors: bigint;
  rxDropped: bigint;
  txBytes: bigint;
  txPackets: bigint;
  txErrors: bigint;
  txDropped: bigint;
}

/** The network usage of a pod (its own namespace; a host-network pod has none of its own). */
export interface PodNetworkUsage {
  timestampNs: bigint;
  /** Interfaces other than loopback; the first is the default one. */
  interfaces: InterfaceUsage[];
}

/** Zero usage at `timestampNs`: a container that is not running uses nothing. */
export function idleUsage(timestampNs: bigint): ContainerUsage {
  return {
    timestampNs,
    cpuNs: 0n,
    workingSetBytes: 0n,
    usageBytes: 0n,
    rssBytes: 0n,
    pageFaults: 0n,
    majorPageFaults: 0n,
    processes: 0,
    threads: 0,
  };
}

/** The sum of several containers' usage (a pod's), at the latest of their timestamps. */
export function sumUsage(parts: readonly ContainerUsage[], timestampNs: bigint): ContainerUsage {
  const total = idleUsage(timestampNs);
  let rate: bigint | undefined;
  for (const u of parts) {
    total.cpuNs += u.cpuNs;
    total.workingSetBytes += u.workingSetBytes;
    total.usageBytes += u.usageBytes;
    total.rssBytes += u.rssBytes;
    total.pageFaults += u.pageFaults;
    total.majorPageFaults += u.majorPageFaults;
    total.processes += u.processes;
    total.threads += u.threads;
    if (u.cpuNanoCores !== undefined) rate = (rate ?? 0n) + u.cpuNanoCores;
  }
  if (rate !== undefined) total.cpuNanoCores = rate;
  return total;
}

const u64 = (value: bigint | number) => ({ value: BigInt(value) });

/** The CRI stats of `container` from its measured usage. */
export function toCriContainerStats(container: CriContainer, usage: ContainerUsage): CriContainerStats {
  const ts = usage.timestampNs;
  return {
    attributes: {
      id: container.id ?? "",
      ...(container.metadata ? { metadata: container.metadata } : {}),
      labels: { ...container.labels },
      annotations: { ...container.annotations },
    },
    cpu: {
      timestamp: ts,
      usageCoreNanoSeconds: u64(usage.cpuNs),
      ...(usage.cpuNanoCores !== undefined ? { usageNanoCores: u64(usage.cpuNanoCores) } : {}),
    },
    memory: {
      timestamp: ts,
      workingSetBytes: u64(usage.workingSetBytes),
      usageBytes: u64(usage.usageBytes),
      rssBytes: u64(usage.rssBytes),
      pageFaults: u64(usage.pageFaults),
      majorPageFaults: u64(usage.majorPageFaults),
    },
    ...(usage.writableLayer
      ? {
        writableLayer: {
          timestamp: usage.writableLayer.timestampNs,
          fsId: { mountpoint: usage.writableLayer.mountpoint },
          usedBytes: u64(usage.writableLayer.usedBytes),
          inodesUsed: u64(usage.writableLayer.inodesUsed),
        },
      }
      : {}),
  };
}

/** The CRI stats of `sandbox`: the sum of its containers (infra included), its network and its process count. */
export function toCriPodSandboxStats(
  sandbox: CriPodSandbox,
  total: ContainerUsage,
  network: PodNetworkUsage | undefined,
  containers: CriContainerStats[],
): CriPodSandboxStats {
  const ts = total.timestampNs;
  const [first] = network?.interfaces ?? [];
  const iface = (i: InterfaceUsage) => ({
    name: i.name,
    rxBytes: u64(i.rxBytes),
    rxErrors: u64(i.rxErrors),
    txBytes: u64(i.txBytes),
    txErrors: u64(i.txErrors),
  });
  return {
    attributes: {
      id: sandbox.id ?? "",
      ...(sandbox.metadata ? { metadata: sandbox.metadata } : {}),
      labels: { ...sandbox.labels },
      annotations: { ...sandbox.annotations },
    },
    linux: {
      cpu: {
        timestamp: ts,
        usageCoreNanoSeconds: u64(total.cpuNs),
        ...(total.cpuNanoCores !== undefined ? { usageNanoCores: u64(total.cpuNanoCores) } : {}),
      },
      memory: {
        timestamp: ts,
        workingSetBytes: u64(total.workingSetBytes),
        usageBytes: u64(total.usageBytes),
        rssBytes: u64(total.rssBytes),
        pageFaults: u64(total.pageFaults),
        majorPageFaults: u64(total.majorPageFaults),
      },
      ...(network
        ? {
          network: {
            timestamp: network.timestampNs,
            ...(first ? { defaultInterface: iface(first) } : {}),
            interfaces: network.interfaces.map(iface),
          },
        }
        : {}),
      process: { timestamp: ts, processCount: u64(total.processes) },
      containers,
    },
  };
}

/** Label keys of every container metric (as cAdvisor's CRI metrics name them). */
const BASE_LABELS = ["id", "name", "image"];

interface MetricDef {
  help: string;
  type: MetricType;
  labels: string[];
  /** The samples of one container: [extra label values, value]. */
  values(u: ContainerUsage): [string[], bigint][];
}

/** Network metrics: per pod (its namespace), one sample per interface. */
interface NetworkMetricDef {
  help: string;
  value(i: InterfaceUsage): bigint;
}

/**
 * The cAdvisor metrics cri-podman can honestly measure from a container's processes; no others. CPU is not split
 * into user and system (the per-process counters are summed with children's), so `container_cpu_usage_seconds_total`
 * carries no `cpu` label. Values are integers (the proto's UInt64Value): seconds metrics are whole seconds.
 */
const CONTAINER_METRICS: Record<string, MetricDef> = {
  container_cpu_usage_seconds_total: {
    help: "Cumulative cpu time consumed in seconds.",
    type: MetricType.COUNTER,
    labels: BASE_LABELS,
    values: (u) => [[[], u.cpuNs / 1_000_000_000n]],
  },
  container_memory_usage_bytes: {
    help: "Current memory usage in bytes, including all memory regardless of when it was accessed.",
    type: MetricType.GAUGE,
    labels: BASE_LABELS,
    values: (u) => [[[], u.usageBytes]],
  },
  container_memory_working_set_bytes: {
    help: "Current working set in bytes.",
    type: MetricType.GAUGE,
    labels: BASE_LABELS,
    values: (u) => [[[], u.workingSetBytes]],
  },
  container_memory_rss: {
    help: "Size of RSS in bytes.",
    type: MetricType.GAUGE,
    labels: BASE_LABELS,
    values: (u) => [[[], u.rssBytes]],
  },
  container_memory_failures_total: {
    help: "Cumulative count of memory allocation failures.",
    type: MetricType.COUNTER,
    labels: [...BASE_LABELS, "failure_type", "scope"],
    values: (u) => [
      [["pgfault", "container"], u.pageFaults],
      [["pgmajfault", "container"], u.majorPageFaults],
    ],
  },
  container_processes: {
    help: "Number of processes running inside the container.",
    type: MetricType.GAUGE,
    labels: BASE_LABELS,
    values: (u) => [[[], BigInt(u.processes)]],
  },
  container_threads: {
    help: "Number of threads running inside the container.",
    type: MetricType.GAUGE,
    labels: BASE_LABELS,
    values: (u) => [[[], BigInt(u.threads)]],
  },
  container_fs_usage_bytes: {
    help: "Number of bytes that are consumed by the container on this filesystem.",
    type: MetricType.GAUGE,
    labels: [...BASE_LABELS, "device"],
    values: (u) => u.writableLayer ? [[[u.writableLayer.mountpoint], u.writableLayer.usedBytes]] : [],
  },
  container_fs_inodes_total: {
    help: "Number of inodes used by the container on this filesystem.",
    type: MetricType.GAUGE,
    labels: [...BASE_LABELS, "device"],
    values: (u) => u.writableLayer ? [[[u.writableLayer.mountpoint], u.writableLayer.inodesUsed]] : [],
  },
  container_start_time_seconds: {
    help: "Start time of the container since unix epoch in seconds.",
    type: MetricType.GAUGE,
    labels: BASE_LABELS,
    values: (u) => u.startTimeSeconds ? [[[], BigInt(Math.floor(u.startTimeSeconds))]] : [],
  },
  container_last_seen: {
    help: "Last time a container was seen by the exporter",
    type: MetricType.GAUGE,
    labels: BASE_LABELS,
    values: (u) => [[[], u.timestampNs / 1_000_000_000n]],
  },
};

const NETWORK_METRICS: Record<string, NetworkMetricDef> = {
  container_network_receive_bytes_total: { help: "Cumulative count of bytes received", value: (i) => i.rxBytes },
  container_network_receive_packets_total: {
    help: "Cumulative count of packets received",
    value: (i) => i.rxPackets,
  },
  container_network_receive_packets_dropped_total: {
    help: "Cumulative count of packets dropped while receiving",
    value: (i) => i.rxDropped,
  },
  container_network_receive_errors_total: {
    help: "Cumulative count of errors encountered while receiving",
    value: (i) => i.rxErrors,
  },
  container_network_transmit_bytes_total: {
    help: "Cumulative count of bytes transmitted",
    value: (i) => i.txBytes,
  },
  container_network_transmit_packets_total: {
    help: "Cumulative count of packets transmitted",
    value: (i) => i.txPackets,
  },
  container_network_transmit_packets_dropped_total: {
    help: "Cumulative count of packets dropped while transmitting",
    value: (i) => i.txDropped,
  },
  container_network_transmit_errors_total: {
    help: "Cumulative count of errors encountered while transmitting",
    value: (i) => i.txErrors,
  },
};

const NETWORK_LABELS = [...BASE_LABELS, "interface"];

/** What ListMetricDescriptors answers: every metric ListPodSandboxMetrics may send, with its label keys. */
export function metricDescriptors(): MessageInitShape<typeof MetricDescriptorSchema>[] {
  return [
    ...Object.entries(CONTAINER_METRICS).map(([name, d]) => ({ name, help: d.help, labelKeys: d.labels })),
    ...Object.entries(NETWORK_METRICS).map(([name, d]) => ({ name, help: d.help, labelKeys: NETWORK_LABELS })),
  ];
}

/** One container of a pod, with what its metrics are labelled with. */
export interface MetricsContainer {
  id: string;
  name: string;
  image: string;
  usage: ContainerUsage;
}

/**
 * The metrics of one pod: its containers' (and the pod's own, under the infra container's ID and name "POD", as
 * cAdvisor labels the sandbox) and its network counters.
 */
export function toCriPodSandboxMetrics(
  podSandboxId: string,
  pod: MetricsContainer,
  containers: readonly MetricsContainer[],
  network: PodNetworkUsage | undefined,
): CriPodSandboxMetrics {
  const samples = (c: MetricsContainer) => {
    const out = [];
    for (const [name, def] of Object.entries(CONTAINER_METRICS)) {
      for (const [extra, value] of def.values(c.usage)) {
        out.push({
          name,
          timestamp: c.usage.timestampNs,
          metricType: def.type,
          labelValues: [c.id, c.name, c.image, ...extra],
          value: u64(value),
        });
      }
    }
    return out;
  };
  const networkSamples = network
    ? network.interfaces.flatMap((i) =>
      Object.entries(NETWORK_METRICS).map(([name, def]) => ({
        name,
        timestamp: network.timestampNs,
        metricType: MetricType.COUNTER,
        labelValues: [pod.id, pod.name, pod.image, i.name],
        value: u64(def.value(i)),
      }))
    )
    : [];
  return {
    podSandboxId,
    metrics: [...samples(pod), ...networkSamples],
    containerMetrics: containers.map((c) => ({ containerId: c.id, metrics: samples(c) })),
  };
}
