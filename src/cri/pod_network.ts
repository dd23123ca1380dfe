/**
 * The Podman bridge network cri-podman owns: created on first need with the pod CIDR kubelet sent (or the default
 * subnet), re-created for a new pod CIDR only while no pod uses it.
 * @module
 */
import { CriError } from "../errors.ts";
import { isPodmanFailure } from "../podman/errors.ts";
import { networkLabels, SANDBOX_FILTER } from "../translate/labels.ts";
import { NETNS_KEEPER_NAME, toLibpodNetnsKeeperSpec } from "../translate/sandbox.ts";
import type { RpcContext, ServiceDeps } from "./context.ts";

/** The first IPv4 CIDR of kubelet's pod CIDR (which may list an IPv6 one too), or the configured default. */
export function podSubnet(deps: Pick<ServiceDeps, "config" | "state">): string {
  const v4 = deps.state.podCidr.split(",").map((c) => c.trim()).find((c) => /^\d+\.\d+\.\d+\.\d+\/\d+$/.test(c));
  return v4 ?? deps.config.pods.default_subnet;
}

/**
 * Makes sure the pod network exists (created with {@link podSubnet} if not) and that the netns keeper runs, so
 * Podman's rootless network namespace outlives the pods that come and go in it.
 */
export function ensurePodNetwork(ctx: RpcContext): Promise<void> {
  return ctx.state.serialize("pod-network", async () => {
    const name = ctx.config.pods.network;
    const [network] = await Promise.all([
      ctx.podman.networks.inspect(name, { signal: ctx.signal }),
      ensureNetnsKeeper(ctx),
    ]);
    if (network) return;
    const subnet = podSubnet(ctx);
    try {
      await createNetwork(ctx, name, subnet);
      ctx.log.info("created pod network", { network: name, subnet });
    } catch (err) {
      // Someone else (another cri-podman, the CLI) created it meanwhile: fine, use it.
      if (!(isPodmanFailure(err, "name-in-use") && await ctx.podman.networks.inspect(name))) throw err;
    }
  });
}

/**
 * Starts the netns keeper pod (see {@link toLibpodNetnsKeeperSpec}) unless it runs. Shared by every cri-podman of
 * this user (they share Podman's rootless network namespace); a failure is logged, not the caller's: pods work
 * without it, only slower and leaving zombies.
 */
async function ensureNetnsKeeper(ctx: RpcContext): Promise<void> {
  try {
    const pod = await ctx.podman.pods.inspect(NETNS_KEEPER_NAME, { signal: ctx.signal });
    if (pod?.State === "Running") return;
    if (pod) {
      try {
        await ctx.podman.pods.start(NETNS_KEEPER_NAME, { signal: ctx.signal });
        return;
      } catch (err) {
        // A keeper whose processes were killed under Podman (a `podman system migrate` leaves it "stopping") never
        // starts again: it holds nothing, so a new one replaces it.
        ctx.log.info("replacing a netns keeper pod that does not start", { error: (err as Error).message });
        await ctx.podman.pods.remove(NETNS_KEEPER_NAME, { signal: ctx.signal });
      }
    }
    await ctx.podman.pods.create(toLibpodNetnsKeeperSpec(ctx.config.pods.infra_image), { signal: ctx.signal })
      .catch((err) => {
        if (!isPodmanFailure(err, "name-in-use")) throw err; // created meanwhile by another cri-podman
      });
    await ctx.podman.pods.start(NETNS_KEEPER_NAME, { signal: ctx.signal });
    ctx.log.info("started the netns keeper pod", { name: NETNS_KEEPER_NAME });
  } catch (err) {
    ctx.log.warn("cannot start the netns keeper pod", { error: (err as Error).message });
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
      await ctx.podman.networks.remove(name, { signal: ctx.signal });
    }
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
