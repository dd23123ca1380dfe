/**
 * Read benchmark (issue 11): the calls kubelet makes all the time — PodSandboxStatus, ContainerStatus, ImageStatus,
 * ListImages, ListPodSandbox, ListContainers — with P pods of C running containers each (default 110 × 3) and I
 * images (default 50), each next to the libpod request(s) that would answer it directly, interleaved in one run.
 * Reports p50/p99 and the server's RSS before and after the objects were created.
 * Run as the unprivileged user: `deno run -A bench/reads.ts [pods] [containersPerPod] [images]`.
 */
import { libpodCaller } from "./_libpod.ts";
import { NamespaceMode } from "../src/gen/runtime/v1/api_pb.ts";
import { CONTAINER_FILTER, SANDBOX_FILTER } from "../src/translate/labels.ts";
import { BUSYBOX_IMAGE, ensureBusyboxImage, writeBusyboxRootfsTar } from "../tests/harness/busybox_image.ts";
import { run } from "../tests/harness/_process.ts";
import { startCriServer } from "../tests/harness/cri_server.ts";
import { startPodmanService } from "../tests/harness/podman_service.ts";
import { makeTempDir, uniqueName } from "../tests/harness/temp.ts";
import { interleaved, rssMiB, summarize, type Summary, table } from "./_stats.ts";
import { create, type DescMessage, type MessageInitShape, toBinary } from "@bufbuild/protobuf";
import {
  ContainerStatusRequestSchema,
  ImageStatusRequestSchema,
  ListContainersRequestSchema,
  ListImagesRequestSchema,
  ListPodSandboxRequestSchema,
  PodSandboxStatusRequestSchema,
  VersionRequestSchema,
} from "../src/gen/runtime/v1/api_pb.ts";
import { field, RawH2Client } from "../tests/harness/h2.ts";

const podCount = Number(Deno.args[0] ?? 110);
const perPod = Number(Deno.args[1] ?? 3);
const imageCount = Number(Deno.args[2] ?? 50);

await ensureBusyboxImage();
await using podman = await startPodmanService();
// BENCH_V8_FLAGS (e.g. --max-old-space-size=256) replaces the V8 flags cri-podman ships with, to compare them.
const v8Flags = Deno.env.get("BENCH_V8_FLAGS");
await using cri = await startCriServer({
  podmanSocket: podman.socketPath,
  args: ["--log-level", "warn"],
  ...(v8Flags ? { v8Flags } : {}),
});
await using logs = await makeTempDir("bench-logs");
await using tmp = await makeTempDir("bench-images");
const libpod = libpodCaller(podman.socketPath);
const call = libpod.call;
const rt = cri.client.runtime;
const img = cri.client.image;
const rssIdle = rssMiB(cri.pid);
const pods: string[] = [];
const containers: string[] = [];
const images: string[] = [];
const run_ = uniqueName("br");
try {
  // Distinct images (distinct IDs): the busybox root file system with a different label each.
  await writeBusyboxRootfsTar(`${tmp.path}/rootfs.tar`);
  for (let i = 0; i < imageCount; i++) {
    const ref = `localhost/cri-podman-bench/${run_}:${i}`;
    await run("podman", ["import", "-q", "--change", `LABEL n=${i}`, `${tmp.path}/rootfs.tar`, ref]);
    images.push(ref);
  }
  const t0 = performance.now();
  for (let p = 0; p < podCount; p++) {
    const name = `${run_}-${p}`;
    const config = {
      metadata: { name, namespace: "bench", uid: `${name}-uid`, attempt: 0 },
      logDirectory: `${logs.path}/${name}`,
      linux: { securityContext: { namespaceOptions: { network: NamespaceMode.POD, pid: NamespaceMode.CONTAINER } } },
    };
    const podSandboxId = (await rt.runPodSandbox({ config })).podSandboxId;
    pods.push(podSandboxId);
    for (let c = 0; c < perPod; c++) {
      const { containerId } = await rt.createContainer({
        podSandboxId,
        config: {
          metadata: { name: `c${c}`, attempt: 0 },
          image: { image: BUSYBOX_IMAGE },
          command: ["/bin/sleep", "3600"],
          logPath: `c${c}.log`,
        },
      });
      await rt.startContainer({ containerId });
      containers.push(containerId);
    }
  }
  console.log(
    `${pods.length} pods, ${containers.length} running containers, ${imageCount} extra images; set up in ${
      ((performance.now() - t0) / 1000).toFixed(0)
    } s`,
  );
  let i = 0;
  const pick = <T>(xs: T[]) => xs[i++ % xs.length]!;
  const podsOnly = encodeURIComponent(JSON.stringify({ label: [...SANDBOX_FILTER] }));
  const ctrsOnly = encodeURIComponent(JSON.stringify({ label: [...CONTAINER_FILTER] }));
  const results = await interleaved({
    "PodSandboxStatus (cri-podman)": () => rt.podSandboxStatus({ podSandboxId: pick(pods) }),
    "libpod pods/{id}/json + infra containers/{id}/json (direct)": async () => {
      const pod = await call("GET", `/pods/${pick(pods)}/json`);
      await call("GET", `/containers/${pod.InfraContainerID}/json`);
    },
    "ContainerStatus (cri-podman)": () => rt.containerStatus({ containerId: pick(containers) }),
    "libpod containers/{id}/json (direct)": () => call("GET", `/containers/${pick(containers)}/json`),
    "ImageStatus (cri-podman)": () => img.imageStatus({ image: { image: pick(images) } }),
    "libpod images/{name}/json (direct)": () => call("GET", `/images/${encodeURIComponent(pick(images))}/json`),
    "ListImages (cri-podman)": () => img.listImages({}),
    "libpod images/json (direct)": () => call("GET", "/images/json"),
    "ListPodSandbox (cri-podman)": () => rt.listPodSandbox({}),
    "libpod pods/json, label filter (direct)": () => call("GET", `/pods/json?filters=${podsOnly}`),
    "ListContainers (cri-podman)": () => rt.listContainers({}),
    "libpod containers/json, label filter (direct)": () => call("GET", `/containers/json?all=true&filters=${ctrsOnly}`),
  }, { rounds: 10, batch: 5, warmup: 2 });
  console.log(table(results));

  // The same reads alone, Podman idle, each 1,000 times over one HTTP/2 connection with a minimal client (the
  // grpc-js client's own work would be most of what is measured): what the p99 target is about.
  const connect = () => RawH2Client.connect(cri.socketPath, { initialWindowSize: 2 ** 31 - 1 });
  /** One unary gRPC call on `client`; throws unless it answered OK. */
  const grpcCall = async <S extends DescMessage>(
    client: RawH2Client,
    path: string,
    schema: S,
    req: MessageInitShape<S>,
  ) => {
    const res = await client.unary(path, "localhost", toBinary(schema, create(schema, req)));
    const code = field(res.trailers, "grpc-status") ?? field(res.headers, "grpc-status");
    if (code !== "0") throw new Error(`${path}: grpc-status ${code}`);
  };
  const raw = await connect();
  const unary = <S extends DescMessage>(path: string, schema: S, req: MessageInitShape<S>) =>
    grpcCall(raw, path, schema, req);
  const RT = "/runtime.v1.RuntimeService";
  const IMG = "/runtime.v1.ImageService";
  const alone: Record<string, () => Promise<void>> = {
    // The floor: a call that does no work (no cache, no Podman) is the transport's cost, gRPC and HTTP/2 alone.
    "Version, alone": () => unary(`${RT}/Version`, VersionRequestSchema, {}),
    "PodSandboxStatus, alone": () =>
      unary(`${RT}/PodSandboxStatus`, PodSandboxStatusRequestSchema, { podSandboxId: pick(pods) }),
    "ContainerStatus, alone": () =>
      unary(`${RT}/ContainerStatus`, ContainerStatusRequestSchema, { containerId: pick(containers) }),
    "ImageStatus, alone": () =>
      unary(`${IMG}/ImageStatus`, ImageStatusRequestSchema, { image: { image: pick(images) } }),
    "ListImages, alone": () => unary(`${IMG}/ListImages`, ListImagesRequestSchema, {}),
    "ListPodSandbox, alone": () => unary(`${RT}/ListPodSandbox`, ListPodSandboxRequestSchema, {}),
    "ListContainers, alone": () => unary(`${RT}/ListContainers`, ListContainersRequestSchema, {}),
  };
  const aloneResults: Record<string, Summary> = {};
  for (const [name, op] of Object.entries(alone)) {
    for (let w = 0; w < 100; w++) await op();
    const samples: number[] = [];
    for (let n = 0; n < 1_000; n++) {
      const t0 = performance.now();
      await op();
      samples.push(performance.now() - t0);
    }
    aloneResults[`${name} (cri-podman, raw HTTP/2 client)`] = summarize(samples);
  }
  raw.destroy();
  console.log(`\nThe reads alone (Podman idle), 1,000 calls each after 100 to warm up\n`);
  console.log(table(aloneResults));

  console.log(`\ncri-podman RSS with ${pods.length} pods, before the load: ${rssMiB(cri.pid).toFixed(0)} MiB`);

  // Under load: 32 clients (connections), each calling PodSandboxStatus and ContainerStatus in turn for 30 s.
  const clients = await Promise.all(
    Array.from({ length: 32 }, connect),
  );
  const load: Record<string, number[]> = { "PodSandboxStatus, 32 clients": [], "ContainerStatus, 32 clients": [] };
  const until = performance.now() + 30_000;
  await Promise.all(clients.map(async (client, k) => {
    for (let n = k; performance.now() < until; n++) {
      const pod = n % 2 === 0;
      const t0 = performance.now();
      if (pod) {
        await grpcCall(client, `${RT}/PodSandboxStatus`, PodSandboxStatusRequestSchema, {
          podSandboxId: pods[n % pods.length]!,
        });
      } else {
        await grpcCall(client, `${RT}/ContainerStatus`, ContainerStatusRequestSchema, {
          containerId: containers[n % containers.length]!,
        });
      }
      load[pod ? "PodSandboxStatus, 32 clients" : "ContainerStatus, 32 clients"]!.push(performance.now() - t0);
    }
  }));
  for (const client of clients) client.destroy();
  const loadRss = rssMiB(cri.pid);
  console.log(`\nUnder load: 32 clients for 30 s (${load["ContainerStatus, 32 clients"]!.length * 2} calls)\n`);
  console.log(table(Object.fromEntries(Object.entries(load).map(([k, v]) => [`${k} (cri-podman)`, summarize(v)]))));
  console.log(`\ncri-podman RSS right after the load: ${loadRss.toFixed(0)} MiB`);
  await new Promise((resolve) => setTimeout(resolve, 5_000));
  console.log(`\ncri-podman RSS: ${rssIdle.toFixed(0)} MiB idle at start, ${rssMiB(cri.pid).toFixed(0)} MiB now`);
} finally {
  for (const podSandboxId of pods) {
    await rt.stopPodSandbox({ podSandboxId }).catch(() => {});
    await rt.removePodSandbox({ podSandboxId }).catch(() => {});
  }
  for (const ref of images) await run("podman", ["rmi", "-f", ref]).catch(() => {});
  await libpod.close();
}
