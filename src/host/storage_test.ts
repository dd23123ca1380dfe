import assert from "node:assert/strict";
import { overlayStorageConf, planStorage, readStorageFacts, type StorageFacts, storagePaths } from "./storage.ts";

const fresh: StorageFacts = {
  envConfig: undefined,
  configFiles: [],
  graphRootEntries: undefined,
  overlay: { works: true },
};

Deno.test("planStorage()", async (t) => {
  const cases: [string, Partial<StorageFacts>, string, RegExp][] = [
    ["configures overlay for a storage that does not exist yet", {}, "configure-overlay", /new storage/],
    [
      "configures overlay when the graph root holds only Podman's scratch dirs",
      {
        graphRootEntries: ["tmp", "mounts", "storage.lock"],
      },
      "configure-overlay",
      /new storage/,
    ],
    [
      "keeps a storage that already uses overlay",
      {
        graphRootEntries: ["overlay", "overlay-images", "libpod"],
      },
      "keep",
      /uses overlay/,
    ],
    [
      "keeps a vfs storage, with a hint to reset it",
      { graphRootEntries: ["vfs", "vfs-images", "libpod"] },
      "keep",
      /vfs/,
    ],
    [
      "keeps whatever a configuration file says",
      { configFiles: ["/etc/containers/storage.conf"] },
      "keep",
      /configured in/,
    ],
    ["keeps what CONTAINERS_STORAGE_CONF names", { envConfig: "/x/storage.conf" }, "keep", /CONTAINERS_STORAGE_CONF/],
    [
      "leaves the choice to Podman when native overlay does not mount",
      {
        overlay: { works: false, reason: "mount: permission denied" },
      },
      "keep",
      /permission denied/,
    ],
  ];
  for (const [name, facts, action, reason] of cases) {
    await t.step(`planStorage() ${name}`, () => {
      const plan = planStorage({ ...fresh, ...facts });
      assert.equal(plan.action, action);
      assert.match(plan.reason, reason);
    });
  }

  await t.step("planStorage() gives a vfs storage the reset hint, and an overlay one none", () => {
    const vfs = planStorage({ ...fresh, graphRootEntries: ["vfs"] });
    assert.ok(vfs.action === "keep" && vfs.hint?.includes("podman system reset"));
    const overlay = planStorage({ ...fresh, graphRootEntries: ["overlay"] });
    assert.ok(overlay.action === "keep" && overlay.hint === undefined);
  });
});

Deno.test("storagePaths() follows XDG_CONFIG_HOME and XDG_DATA_HOME, else HOME", () => {
  assert.deepEqual(storagePaths({ HOME: "/home/u" }), {
    userConfig: "/home/u/.config/containers/storage.conf",
    systemConfigs: ["/etc/containers/storage.conf", "/usr/share/containers/storage.conf"],
    graphRoot: "/home/u/.local/share/containers/storage",
  });
  const xdg = storagePaths({ HOME: "/home/u", XDG_CONFIG_HOME: "/c", XDG_DATA_HOME: "/d" });
  assert.equal(xdg.userConfig, "/c/containers/storage.conf");
  assert.equal(xdg.graphRoot, "/d/containers/storage");
});

Deno.test("overlayStorageConf() sets the overlay driver under [storage] and says who wrote it", () => {
  const text = overlayStorageConf(new Date("2026-01-02T03:04:05Z"));
  assert.match(text, /^# Written by cri-podman on 2026-01-02T03:04:05.000Z/);
  assert.match(text, /\[storage\]\ndriver = "overlay"\n$/);
});

Deno.test("readStorageFacts() does not probe overlay for a storage already in use", async () => {
  const dir = await Deno.makeTempDir({ prefix: "storage-facts-" });
  try {
    const paths = { userConfig: `${dir}/none.conf`, systemConfigs: [`${dir}/none-either.conf`], graphRoot: `${dir}/g` };
    await Deno.mkdir(`${paths.graphRoot}/vfs`, { recursive: true });
    const facts = await readStorageFacts(paths, {}, dir);
    assert.deepEqual(facts.graphRootEntries, ["vfs"]);
    assert.deepEqual(facts.overlay, { works: false, reason: "not tested" });
    assert.deepEqual(
      await Array.fromAsync(Deno.readDir(dir), (e) => e.name).then((n) => n.sort()),
      ["g"],
      "no probe dir",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
