/**
 * The facts of a healthy cgroup v2 host for the doctor's unit tests: every check is ok on them, and each test case
 * changes one fact.
 * @module
 */
import { storagePaths } from "../../src/host/storage.ts";
import type { DoctorFacts } from "../../src/doctor/facts.ts";

/** The home of the test user "alice" (uid 1000). */
export const HOME = "/home/alice";

/** The user's containers.conf in the fixture. */
export const USER_CONTAINERS_CONF = `${HOME}/.config/containers/containers.conf`;

/** A fresh copy of the healthy facts, safe to change. */
export function healthyFacts(): DoctorFacts {
  return {
    user: { uid: 1000, gid: 1000, name: "alice" },
    podman: {
      binary: "podman",
      cli: { value: { installed: true, version: "4.3.1", output: "podman version 4.3.1" } },
      socketPath: "/run/user/1000/podman/podman.sock",
      embedded: true,
      service: { value: { answers: false, reason: "no such file or directory" } },
    },
    subIds: {
      subuid: { value: [{ owner: "alice", start: 100000, count: 65536 }] },
      subgid: { value: [{ owner: "alice", start: 100000, count: 65536 }] },
      newuidmap: "/usr/bin/newuidmap",
      newgidmap: "/usr/bin/newgidmap",
    },
    runtimeDir: { path: "/run/user/1000", fromEnv: true, problem: { value: undefined }, mode: 0o700 },
    mounts: {
      value: [
        { mountPoint: "/", fsType: "ext4", superOptions: ["rw"] },
        { mountPoint: "/sys/fs/cgroup", fsType: "cgroup2", superOptions: ["rw", "nsdelegate"] },
        { mountPoint: "/dev/mqueue", fsType: "mqueue", superOptions: ["rw"] },
      ],
    },
    ociRuntimes: {
      value: [
        { name: "crun", path: "/usr/bin/crun", verdict: { usable: true } },
        { name: "runc", path: "/usr/sbin/runc", verdict: { usable: true } },
      ],
    },
    storage: {
      value: {
        paths: storagePaths({ HOME }),
        facts: { envConfig: undefined, configFiles: [], graphRootEntries: undefined, overlay: { works: true } },
        config: undefined,
        fuseOverlayfs: "/usr/bin/fuse-overlayfs",
      },
    },
    tun: { value: true },
    network: {
      slirp4netns: "/usr/bin/slirp4netns",
      netavark: "/usr/lib/podman/netavark",
      aardvarkDns: "/usr/lib/podman/aardvark-dns",
    },
    keyring: { maxkeys: { value: 200 }, maxbytes: { value: 20000 }, usage: { value: { keys: 3, bytes: 37 } } },
    containersConf: { value: [{ path: USER_CONTAINERS_CONF, text: "[containers]\nkeyring = false\n" }] },
    cgroupDelegation: {
      value: {
        cgroup: "/user.slice/user-1000.slice/user@1000.service",
        controllers: ["cpuset", "cpu", "io", "memory", "pids"],
      },
    },
    unprivilegedPortStart: { value: 0 },
  };
}
