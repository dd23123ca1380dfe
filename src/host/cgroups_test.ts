import assert from "node:assert/strict";
import {
  cgroupLayout,
  delegationCgroup,
  isMounted,
  type MountEntry,
  parseMountinfo,
  unifiedCgroupPath,
} from "./cgroups.ts";

/** A mountinfo line for a mount of `fsType` at `mountPoint` with super options `opts`. */
function line(id: number, mountPoint: string, fsType: string, opts = "rw"): string {
  return `${id} 1 0:${id} / ${mountPoint} rw,nosuid,nodev,noexec,relatime shared:${id} - ${fsType} ${fsType} ${opts}`;
}

const V2 = [
  line(1, "/", "ext4"),
  line(2, "/sys/fs/cgroup", "cgroup2", "rw,nsdelegate,memory_recursiveprot"),
  line(3, "/dev/mqueue", "mqueue"),
].join("\n");

const HYBRID = [
  line(1, "/", "ext4"),
  line(2, "/sys/fs/cgroup", "tmpfs", "rw,mode=755"),
  line(3, "/sys/fs/cgroup/memory", "cgroup", "rw,memory"),
  line(4, "/sys/fs/cgroup/pids", "cgroup", "rw,pids"),
  line(5, "/sys/fs/cgroup/unified", "cgroup2", "rw"),
].join("\n");

const V1 = [
  line(1, "/", "ext4"),
  line(2, "/sys/fs/cgroup", "tmpfs", "rw,mode=755"),
  line(3, "/sys/fs/cgroup/memory", "cgroup", "rw,memory"),
  line(4, "/sys/fs/cgroup/systemd", "cgroup", "rw,name=systemd"),
].join("\n");

Deno.test("parseMountinfo()", async (t) => {
  await t.step("parseMountinfo() reads the mount point, type and super options", () => {
    const entries = parseMountinfo(HYBRID);
    assert.equal(entries.length, 5);
    assert.deepEqual(entries[2], {
      mountPoint: "/sys/fs/cgroup/memory",
      fsType: "cgroup",
      superOptions: ["rw", "memory"],
    });
  });

  await t.step("parseMountinfo() reads lines without optional fields", () => {
    assert.deepEqual(parseMountinfo("41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw"), [
      { mountPoint: "/sys/fs/cgroup/unified", fsType: "cgroup2", superOptions: ["rw"] },
    ]);
  });

  await t.step("parseMountinfo() decodes octal escapes in mount points", () => {
    assert.equal(parseMountinfo(line(1, "/mnt/a\\040b", "ext4"))[0]?.mountPoint, "/mnt/a b");
  });

  await t.step("parseMountinfo() skips blank and malformed lines", () => {
    assert.deepEqual(parseMountinfo("\nnot a mount line\n1 2 3\n"), []);
  });
});

Deno.test("cgroupLayout()", async (t) => {
  const cases: [string, string, ReturnType<typeof cgroupLayout>][] = [
    ["cgroup2 at /sys/fs/cgroup", V2, "v2"],
    ["v1 hierarchies plus cgroup2 at /sys/fs/cgroup/unified", HYBRID, "hybrid"],
    ["v1 hierarchies only", V1, "v1"],
    ["no cgroup mount at all", line(1, "/", "ext4"), "v1"],
  ];
  for (const [what, text, layout] of cases) {
    await t.step(`cgroupLayout() reads ${what} as ${layout}`, () => {
      assert.equal(cgroupLayout(parseMountinfo(text)), layout);
    });
  }
});

Deno.test("isMounted()", async (t) => {
  const mounts: MountEntry[] = parseMountinfo(V2);
  await t.step("isMounted() finds an mqueue at /dev/mqueue", () => {
    assert.equal(isMounted(mounts, "/dev/mqueue", "mqueue"), true);
  });
  await t.step("isMounted() wants both the place and the type", () => {
    assert.equal(isMounted(mounts, "/dev/mqueue", "tmpfs"), false);
    assert.equal(isMounted(parseMountinfo(HYBRID), "/dev/mqueue", "mqueue"), false);
  });
});

Deno.test("unifiedCgroupPath()", async (t) => {
  await t.step("unifiedCgroupPath() reads the 0:: line", () => {
    const text = "1:cpu:/\n0::/user.slice/user-1000.slice/user@1000.service/app.slice/x.scope\n";
    assert.equal(unifiedCgroupPath(text), "/user.slice/user-1000.slice/user@1000.service/app.slice/x.scope");
  });
  await t.step("unifiedCgroupPath() is undefined without a 0:: line", () => {
    assert.equal(unifiedCgroupPath("4:memory:/a\n1:cpu:/\n"), undefined);
  });
});

Deno.test("delegationCgroup()", async (t) => {
  await t.step("delegationCgroup() picks the user@<uid>.service ancestor", () => {
    assert.equal(
      delegationCgroup("/user.slice/user-1000.slice/user@1000.service/app.slice/x.scope", 1000),
      "/user.slice/user-1000.slice/user@1000.service",
    );
  });
  await t.step("delegationCgroup() takes the parent without a user service", () => {
    assert.equal(delegationCgroup("/user.slice/user-1000.slice/session-3.scope", 1000), "/user.slice/user-1000.slice");
  });
  await t.step("delegationCgroup() ignores another user's service", () => {
    // Deep enough that "the parent" and "any user@N.service ancestor" give different answers.
    assert.equal(
      delegationCgroup("/user.slice/user-7.slice/user@7.service/app.slice/a.scope", 1000),
      "/user.slice/user-7.slice/user@7.service/app.slice",
    );
  });
  await t.step("delegationCgroup() of the root is the root", () => {
    assert.equal(delegationCgroup("/", 1000), "/");
  });
});
