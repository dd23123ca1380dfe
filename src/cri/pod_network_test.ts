import assert from "node:assert/strict";
import { PodmanError } from "../podman/errors.ts";
import { netnsKeeperName } from "../translate/sandbox.ts";
const NETNS_KEEPER_NAME = netnsKeeperName("cri-podman");
import { type InProcessCri, startInProcessCri } from "../../tests/harness/in_process_cri.ts";
import { runSandbox } from "../../tests/harness/handler_fixtures.ts";
import { podSubnet } from "./pod_network.ts";

/** The fake's netns keeper pod. */
const keeperOf = (cri: InProcessCri) => [...cri.fake.pods_.values()].find((p) => p.name === NETNS_KEEPER_NAME);

Deno.test("podSubnet() is the first IPv4 CIDR kubelet sent, else pods.default_subnet", async (t) => {
  await using cri = await startInProcessCri({ events: false });
  const deps = { config: cri.deps.config, state: cri.state };
  const cases: Array<[string, string]> = [
    ["", "10.85.0.0/16"],
    ["10.244.1.0/24", "10.244.1.0/24"],
    ["fd00::/64,10.244.2.0/24", "10.244.2.0/24"],
    ["10.244.3.0/24, 10.244.4.0/24", "10.244.3.0/24"],
    ["fd00::/64", "10.85.0.0/16"],
  ];
  for (const [podCidr, subnet] of cases) {
    await t.step(`"${podCidr}" → ${subnet}`, () => {
      cri.state.podCidr = podCidr;
      assert.equal(podSubnet(deps), subnet);
    });
  }
});

Deno.test("ensurePodNetwork (through RunPodSandbox) creates the network once, with the recorded pod CIDR", async () => {
  await using cri = await startInProcessCri();
  cri.state.podCidr = "10.244.7.0/24";
  await runSandbox(cri, "a");
  await runSandbox(cri, "b");
  assert.deepEqual(cri.fake.networks_.get("cri-podman")?.subnets, [{ subnet: "10.244.7.0/24" }]);
  assert.equal(cri.fake.callsOf("networks.createBridge").length, 1);
});

Deno.test("ensurePodNetwork uses a network another cri-podman created between its look and its create", async () => {
  await using cri = await startInProcessCri();
  const create = cri.fake.networks.createBridge;
  // The other creator wins the race: the network exists, and our create is refused as a taken name.
  cri.fake.networks.createBridge = async (name, subnet, labels, opts) => {
    cri.fake.networks.createBridge = create;
    await create(name, subnet, labels, opts);
    throw new PodmanError("name-in-use", `Cannot create network "${name}": network name ${name} already used`);
  };
  const id = await runSandbox(cri, "race");
  assert.ok(cri.fake.pods_.has(id));
  assert.equal(cri.fake.networks_.size, 1);
});

Deno.test("ensurePodNetwork starts the netns keeper again when it was stopped, and creates it when removed", async () => {
  await using cri = await startInProcessCri();
  await runSandbox(cri, "first");
  const keeper = keeperOf(cri)!;
  cri.fake.exitBehindOurBack(keeper.infraId);
  await runSandbox(cri, "second");
  assert.equal(cri.fake.containers_.get(keeper.infraId)?.status, "running");
  await cri.fake.pods.remove(keeper.id);
  await runSandbox(cri, "third");
  const again = keeperOf(cri)!;
  assert.notEqual(again.id, keeper.id);
  assert.equal(cri.fake.containers_.get(again.infraId)?.status, "running");
  assert.deepEqual(Object.keys(again.spec.Networks ?? {}), ["cri-podman"], "on the pod network (its bridge stays up)");
});

Deno.test("ensurePodNetwork takes a keeper another cri-podman created meanwhile", async () => {
  await using cri = await startInProcessCri();
  const create = cri.fake.pods.create;
  cri.fake.pods.create = async (spec, opts) => {
    if (spec.name !== NETNS_KEEPER_NAME) return await create(spec, opts);
    await create(spec, opts); // the other one's
    throw new PodmanError("name-in-use", `Cannot create pod "${spec.name}": pod already exists`);
  };
  await runSandbox(cri, "shared");
  cri.fake.pods.create = create;
  const keeper = keeperOf(cri)!;
  assert.equal(cri.fake.containers_.get(keeper.infraId)?.status, "running");
  assert.ok(!cri.logs.some((l) => l.includes("cannot start the netns keeper pod")));
});
