/**
 * The Podman bridge network cri-podman owns: created on first need with the pod CIDR kubelet sent (or the default
 * subnet), re-created for a new pod CIDR only while no pod uses it.
 * @module
 */
import { CriError } from "../errors.ts";
import { isPodmanFailure } from "../podman/errors.ts";
import { KIND, networkLabels, SANDBOX_FILTER } from "../translate/labels.ts";
import { LEGACY_NETNS_KEEPER_NAME, netnsKeeperName, toLibpodNetnsKeeperSpec } from "../translate/sandbox.ts";
import type { RpcContext, ServiceDeps } from "./context.ts";

/** The first IPv4 CIDR of kubelet's pod CIDR (which may list an IPv6 one too), or the configured default. */
export function podSubnet(deps: Pick<ServiceDeps, "config" | "state">): string {
  const v4 = deps.state.podCidr.split(",").map((c) => c.trim()).find((c) => /^\d+\.\d+\.\d+\.\d+\/\d+$/.test(c));
  return v4 ?? deps.config.pods.default_subnet;
}

/** How long a successful {@link ensurePodNetwork} is trusted before the next RunPodSandbox looks again. */
export const POD_NETWORK_RECHECK_MS = 10_000;

/**
 * Makes sure the pod network exists (created with {@link podSubnet} if not). A success is trusted for
 * {@link POD_NETWORK_RECHECK_MS} (a libpod round trip saved on each RunPodSandbox); a pod create that finds the
 * network gone calls {@link forgetPodNetwork} and ensures again. Its keeper: {@link ensureNetnsKeeper}.
 */
export function ensurePodNetwork(ctx: RpcContext): Promise<void> {
  if (performance.now() - ctx.state.podNetworkCheckedAt < POD_NETWORK_RECHECK_MS) return Promise.resolve();
  return ctx.state.serialize("pod-network", async () => {
    if (performance.now() - ctx.state.podNetworkCheckedAt < POD_NETWORK_RECHECK_MS) return;
    const name = ctx.config.pods.network;
    const network = await ctx.podman.networks.inspect(name, { signal: ctx.signal });
    if (!network) {
      const subnet = podSubnet(ctx);
      try {
        await createNetwork(ctx, name, subnet);
        ctx.log.info("created pod network", { network: name, subnet });
      } catch (err) {
        // Someone else (another cri-podman, the CLI) created it meanwhile: fine, use it.
        if (!(isPodmanFailure(err, "name-in-use") && await ctx.podman.networks.inspect(name))) throw err;
      }
    }
    ctx.state.podNetworkCheckedAt = performance.now();
  });
}

/** Makes the next {@link ensurePodNetwork} look at Podman again (the network or its keeper went away). */
export function forgetPodNetwork(deps: Pick<ServiceDeps, "state">): void {
  deps.state.podNetworkCheckedAt = Number.NEGATIVE_INFINITY;
}

/**
 * Starts the netns keeper pod of the pod network (see {@link toLibpodNetnsKeeperSpec}) unless it runs, so Podman's
 * rootless network namespace and the network's bridge outlive the pods that come and go. Call it after
 * {@link ensurePodNetwork} (the keeper joins the network); RunPodSandbox runs it alongside its own pod's creation.
 * Never rejects: a failure is logged, not the caller's (pods work without it, only slower and leaving zombies).
 */
export function ensureNetnsKeeper(ctx: RpcContext): Promise<boolean> {
  return ctx.state.serialize("netns-keeper", () => startNetnsKeeper(ctx));
}

async function startNetnsKeeper(ctx: RpcContext): Promise<boolean> {
  const name = netnsKeeperName(ctx.config.pods.network);
  try {
    const pod = await ctx.podman.pods.inspect(name, { signal: ctx.signal });
    if (pod?.State === "Running") return true;
    if (pod) {
      try {
        await ctx.podman.pods.start(name, { signal: ctx.signal });
        return true;
      } catch (err) {
        // A keeper whose processes were killed under Podman (a `podman system migrate` leaves it "stopping") never
        // starts again: it holds nothing, so a new one replaces it.
        ctx.log.info("replacing a netns keeper pod that does not start", { error: (err as Error).message });
        await ctx.podman.pods.remove(name, { signal: ctx.signal });
      }
    }
    await ctx.podman.pods.create(toLibpodNetnsKeeperSpec(ctx.config.pods.infra_image, ctx.config.pods.network), {
      signal: ctx.signal,
    }).catch((err) => {
      if (!isPodmanFailure(err, "name-in-use")) throw err; // created meanwhile by another cri-podman
    });
    await ctx.podman.pods.start(name, { signal: ctx.signal });
    ctx.log.info("started the netns keeper pod", { name });
    // The keeper of earlier versions, on Podman's default network, holds nothing this one does not.
    const legacy = await ctx.podman.pods.inspect(LEGACY_NETNS_KEEPER_NAME, { signal: ctx.signal });
    if (legacy?.Labels?.[KIND] === "netns-keeper") {
      await ctx.podman.pods.remove(legacy.Id, { signal: ctx.signal }).catch(() => {});
    }
    return true;
  } catch (err) {
    ctx.log.warn("cannot start the netns keeper pod", { error: (err as Error).message });
    return false;
  }
}

/**
 * Applies a new pod CIDR to the network: creates it with that subnet, or re-creates it while no sandbox of ours
 * exists; otherwise keeps the subnet and logs why (pods' IPs must not change under them).
 */
export function applyPodCidr(ctx: RpcContext): Promise<void> {
  return ctx.state.serialize("pod-network", async () => {
    const name = ctx.config.pods.network;
    const subnet = podSubnet(ctx);
    const net = await ctx.podman.networks.inspect(name, { signal: ctx.signal });
    const current = net?.subnets?.map((s) => s.subnet) ?? [];
    if (net && current.includes(subnet)) return;
    if (net) {
      const pods = await ctx.podman.pods.list(SANDBOX_FILTER, { signal: ctx.signal });
      if (pods.some((p) => p.Networks?.includes(name))) {
        ctx.log.warn("pod CIDR not applied: pods use the network", { network: name, subnet: current, podCidr: subnet });
        return;
      }
      // The keeper holds an address of the old subnet, and Podman refuses to remove a network in use.
      await ctx.podman.pods.remove(netnsKeeperName(name), { signal: ctx.signal });
      await ctx.podman.networks.remove(name, { signal: ctx.signal });
    }
    forgetPodNetwork(ctx);
    await createNetwork(ctx, name, subnet);
    ctx.log.info(net ? "re-created pod network for the pod CIDR" : "created pod network", { network: name, subnet });
  });
}

/** Creates the bridge network; a subnet clash becomes FailedPrecondition saying what to change. */
async function createNetwork(ctx: RpcContext, name: string, subnet: string): Promise<void> {
  try {
    await ctx.podman.networks.createBridge(name, subnet, networkLabels(), { signal: ctx.signal });
  } catch (err) {
    if (isPodmanFailure(err, "subnet-overlap")) {
      throw new CriError(
        "FailedPrecondition",
        `Cannot create pod network "${name}" with subnet ${subnet}: another network or host route uses it; set ` +
          `pods.default_subnet (or kubelet's pod CIDR) to a free range: ${err.message}`,
        { cause: err },
      );
    }
    throw err;
  }
}
