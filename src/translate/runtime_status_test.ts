import assert from "node:assert/strict";
import { CgroupDriver } from "../gen/runtime/v1/api_pb.ts";
import type { LibpodInfo } from "../podman/types.ts";
import {
  type CriCondition,
  NETWORK_READY,
  networkCondition,
  type NetworkProbe,
  RUNTIME_READY,
  runtimeCondition,
  toCgroupDriver,
  toStatusInfo,
} from "./runtime_status.ts";

/** A healthy rootless host, with `host` fields overridden. */
function info(host: Partial<LibpodInfo["host"]> = {}): LibpodInfo {
  return {
    host: {
      kernel: "6.8.0",
      cgroupManager: "systemd",
      cgroupVersion: "v2",
      cgroupControllers: ["cpu", "memory", "pids"],
      networkBackend: "netavark",
      ociRuntime: { name: "crun", path: "/usr/bin/crun" },
      security: { rootless: true },
      slirp4netns: { executable: "/usr/bin/slirp4netns", version: "1.2.0" },
      ...host,
    },
    store: { graphRoot: "/home/u/.local/share/containers/storage", graphDriverName: "overlay" },
    version: { Version: "4.9.3", APIVersion: "4.9.3" },
  };
}

Deno.test("runtimeCondition()", async (t) => {
  await t.step("runtimeCondition() is ready when the ping succeeded and no runtime was found unusable", () => {
    assert.deepEqual(runtimeCondition({ ping: undefined }), { type: RUNTIME_READY, status: true });
  });

  await t.step("runtimeCondition() is not ready with reason PodmanUnreachable and the error message", () => {
    assert.deepEqual(
      runtimeCondition({ ping: new Error("Cannot reach Podman: Podman is not reachable (ECONNREFUSED)") }),
      {
        type: RUNTIME_READY,
        status: false,
        reason: "PodmanUnreachable",
        message: "Cannot reach Podman: Podman is not reachable (ECONNREFUSED)",
      },
    );
  });

  await t.step("runtimeCondition() is not ready with PodmanNotResponding when the ping ran out of time", () => {
    const c = runtimeCondition({ ping: "timeout" });
    assert.equal(c.status, false);
    assert.equal(c.reason, "PodmanNotResponding");
  });

  await t.step("runtimeCondition() is not ready when Podman's OCI runtime cannot run containers", async (t) => {
    const crun = { name: "crun", reason: "cgroups in hybrid mode not supported" };
    const cases: [string, { alternative: string | undefined; embedded: boolean }, RegExp][] = [
      [
        "an external Podman with runc installed: configure runc",
        { alternative: "runc", embedded: false },
        /runtime = "runc" under \[engine\]/,
      ],
      ["the embedded Podman with runc installed: restart", { alternative: "runc", embedded: true }, /--runtime runc/],
      ["no runtime works: install one", { alternative: undefined, embedded: true }, /apt-get install runc/],
    ];
    for (const [name, rt, fix] of cases) {
      await t.step(name, () => {
        const c = runtimeCondition({ ping: undefined, unusableRuntime: { ...crun, ...rt } });
        assert.equal(c.status, false);
        assert.equal(c.reason, "OCIRuntimeUnusable");
        assert.match(
          c.message ?? "",
          /crun cannot run containers on this host \(cgroups in hybrid mode not supported\)/,
        );
        assert.match(c.message ?? "", fix);
      });
    }
  });

  await t.step("runtimeCondition() puts an unreachable Podman before the runtime's fitness", () => {
    const c = runtimeCondition({
      ping: new Error("down"),
      unusableRuntime: { name: "crun", reason: "x", alternative: "runc", embedded: true },
    });
    assert.equal(c.reason, "PodmanUnreachable");
  });

  await t.step("runtimeCondition() uses the type name kubelet looks for", () => {
    assert.equal(RUNTIME_READY, "RuntimeReady");
  });
});

Deno.test("networkCondition()", async (t) => {
  const cases: [string, NetworkProbe, CriCondition][] = [
    [
      "is ready when Podman has a backend, slirp4netns exists and tun is usable",
      { info: info(), tunUsable: true },
      { type: NETWORK_READY, status: true },
    ],
    [
      "is ready with the CNI backend too",
      { info: info({ networkBackend: "cni" }), tunUsable: true },
      { type: NETWORK_READY, status: true },
    ],
    [
      "reports PodmanUnreachable with the error message when info failed",
      { info: new Error("Cannot read Podman's info: deadline exceeded"), tunUsable: true },
      {
        type: NETWORK_READY,
        status: false,
        reason: "PodmanUnreachable",
        message: "Cannot read Podman's info: deadline exceeded",
      },
    ],
    [
      "reports NoNetworkBackend when Podman names none",
      { info: info({ networkBackend: "" }), tunUsable: true },
      { type: NETWORK_READY, status: false, reason: "NoNetworkBackend", message: "Podman reports no network backend" },
    ],
    [
      "reports Slirp4netnsMissing when slirp4netns has no executable",
      { info: info({ slirp4netns: { executable: "" } }), tunUsable: true },
      {
        type: NETWORK_READY,
        status: false,
        reason: "Slirp4netnsMissing",
        message: "slirp4netns is not installed (apt-get install slirp4netns)",
      },
    ],
    [
      "reports TunUnavailable when /dev/net/tun cannot be opened",
      { info: info(), tunUsable: false },
      {
        type: NETWORK_READY,
        status: false,
        reason: "TunUnavailable",
        message: "/dev/net/tun cannot be opened by this user (as root: chmod 0666 /dev/net/tun)",
      },
    ],
    [
      "reports the first failure when several checks fail",
      { info: info({ networkBackend: "", slirp4netns: {} }), tunUsable: false },
      { type: NETWORK_READY, status: false, reason: "NoNetworkBackend", message: "Podman reports no network backend" },
    ],
    [
      "checks slirp4netns before tun",
      { info: info({ slirp4netns: {} }), tunUsable: false },
      {
        type: NETWORK_READY,
        status: false,
        reason: "Slirp4netnsMissing",
        message: "slirp4netns is not installed (apt-get install slirp4netns)",
      },
    ],
  ];
  for (const [what, probe, want] of cases) {
    await t.step(`networkCondition() ${what}`, () => {
      assert.deepEqual(networkCondition(probe), want);
    });
  }

  await t.step("networkCondition() reports Slirp4netnsMissing when Podman's info has no slirp4netns section", () => {
    const bare = info();
    delete bare.host.slirp4netns;
    assert.equal(networkCondition({ info: bare, tunUsable: true }).reason, "Slirp4netnsMissing");
  });

  await t.step("networkCondition() reports NoNetworkBackend when Podman's info has no networkBackend field", () => {
    const bare = info();
    delete bare.host.networkBackend;
    assert.equal(networkCondition({ info: bare, tunUsable: true }).reason, "NoNetworkBackend");
  });

  await t.step("networkCondition() uses the type name kubelet looks for", () => {
    assert.equal(NETWORK_READY, "NetworkReady");
  });
});

Deno.test("toCgroupDriver()", async (t) => {
  const cases: [string, CgroupDriver][] = [
    ["systemd", CgroupDriver.SYSTEMD],
    ["cgroupfs", CgroupDriver.CGROUPFS],
    ["", CgroupDriver.CGROUPFS],
    ["Systemd", CgroupDriver.CGROUPFS],
  ];
  for (const [manager, want] of cases) {
    await t.step(`toCgroupDriver() maps ${JSON.stringify(manager)} to ${CgroupDriver[want]}`, () => {
      assert.equal(toCgroupDriver(manager), want);
    });
  }
});

Deno.test("toStatusInfo()", async (t) => {
  await t.step("toStatusInfo() gives podman, config and podCidr, the first two as JSON", () => {
    const config = { listen: "/run/user/1000/cri-podman/cri-podman.sock", log: { level: "info" } };
    const out = toStatusInfo(info(), config, "10.88.0.0/16");
    assert.deepEqual(Object.keys(out).sort(), ["config", "podCidr", "podman"]);
    assert.equal(out["podCidr"], "10.88.0.0/16");
    assert.deepEqual(JSON.parse(out["config"]!), config);
    assert.deepEqual(JSON.parse(out["podman"]!), {
      version: "4.9.3",
      apiVersion: "4.9.3",
      rootless: true,
      cgroupManager: "systemd",
      cgroupVersion: "v2",
      cgroupControllers: ["cpu", "memory", "pids"],
      ociRuntime: "crun",
      networkBackend: "netavark",
      graphRoot: "/home/u/.local/share/containers/storage",
      graphDriver: "overlay",
      kernel: "6.8.0",
    });
  });

  await t.step("toStatusInfo() gives the error message under podman when info failed", () => {
    const out = toStatusInfo(new Error("Cannot read Podman's info: canceled"), {}, "");
    assert.deepEqual(JSON.parse(out["podman"]!), { error: "Cannot read Podman's info: canceled" });
    assert.equal(out["config"], "{}");
    assert.equal(out["podCidr"], "");
  });

  await t.step("toStatusInfo() gives an empty controller list when Podman reports none", () => {
    const out = toStatusInfo(info({ cgroupControllers: null }), {}, "");
    assert.deepEqual(JSON.parse(out["podman"]!).cgroupControllers, []);
  });

  await t.step("toStatusInfo() leaves out facts Podman did not report", () => {
    const bare: LibpodInfo = {
      host: { cgroupManager: "cgroupfs", cgroupVersion: "v1" },
      store: { graphRoot: "/g", graphDriverName: "vfs" },
    };
    assert.deepEqual(JSON.parse(toStatusInfo(bare, {}, "")["podman"]!), {
      cgroupManager: "cgroupfs",
      cgroupVersion: "v1",
      cgroupControllers: [],
      graphRoot: "/g",
      graphDriver: "vfs",
    });
  });
});
