import assert from "node:assert/strict";
import {
  freeSubIdRange,
  keyringSetting,
  parseKeyUsers,
  parsePodmanVersion,
  parseSubIds,
  rangesOf,
  runtimeSetting,
  storageDriverSetting,
} from "./parse.ts";

Deno.test("parsePodmanVersion()", async (t) => {
  const cases: [string, string | undefined][] = [
    ["podman version 4.3.1\n", "4.3.1"],
    ["podman version 5.2.0-rc1", "5.2.0-rc1"],
    ["podman version 4.9", "4.9"],
    ["podman-remote version 4.3.1", "4.3.1"],
    ["something else", undefined],
  ];
  for (const [output, version] of cases) {
    await t.step(`parsePodmanVersion(${JSON.stringify(output)}) is ${version}`, () => {
      assert.equal(parsePodmanVersion(output), version);
    });
  }
});

Deno.test("parseSubIds()", async (t) => {
  await t.step("parseSubIds() reads owner:start:count lines", () => {
    assert.deepEqual(parseSubIds("alice:100000:65536\n1001:165536:65536\n"), [
      { owner: "alice", start: 100000, count: 65536 },
      { owner: "1001", start: 165536, count: 65536 },
    ]);
  });

  await t.step("parseSubIds() skips comments, blanks and malformed lines", () => {
    assert.deepEqual(parseSubIds("# x\n\nbob:abc:1\ncarol:1\n  dave:5:6  \n"), [{ owner: "dave", start: 5, count: 6 }]);
  });

  await t.step("rangesOf() finds a user by name or by uid", () => {
    const ranges = parseSubIds("alice:1:2\n1000:3:4\nbob:5:6\n");
    assert.deepEqual(rangesOf(ranges, { name: "alice", uid: 1000 }).map((r) => r.start), [1, 3]);
    assert.deepEqual(rangesOf(ranges, { name: undefined, uid: 1000 }).map((r) => r.start), [3]);
  });
});

Deno.test("freeSubIdRange()", async (t) => {
  const cases: [string, string, number][] = [
    ["nothing taken", "", 100000],
    ["the first block taken", "a:100000:65536", 165536],
    ["blocks in any order", "b:165536:65536\na:100000:65536", 231072],
    ["a gap big enough", "a:100000:65536\nb:300000:65536", 165536],
    ["a gap too small", "a:100000:65536\nb:200000:65536", 265536],
    ["a long range covering later short ones", "a:100000:500000\nb:150000:10", 600000],
    ["ranges below the start", "a:1000:1000", 100000],
  ];
  for (const [what, text, start] of cases) {
    await t.step(`freeSubIdRange() starts at ${start} with ${what}`, () => {
      assert.deepEqual(freeSubIdRange(parseSubIds(text)), { owner: "", start, count: 65536 });
    });
  }
});

Deno.test("parseKeyUsers()", async (t) => {
  const text = "    0:     9 8/8 3/1000000 72/25000000\n 1001:     4 4/4 4/200 38/20000\n";
  await t.step("parseKeyUsers() reads the user's quota keys and bytes", () => {
    assert.deepEqual(parseKeyUsers(text, 1001), { keys: 4, bytes: 38 });
    assert.deepEqual(parseKeyUsers(text, 0), { keys: 3, bytes: 72 });
  });
  await t.step("parseKeyUsers() is undefined for a user without keys", () => {
    assert.equal(parseKeyUsers(text, 1002), undefined);
  });
});

Deno.test("containers.conf and storage.conf settings", async (t) => {
  await t.step("keyringSetting() takes the last file that sets it", () => {
    const s = keyringSetting([
      { path: "/a", text: "[containers]\nkeyring = true\n" },
      { path: "/b", text: "[containers]\nkeyring = false\n" },
      { path: "/c", text: '[engine]\nruntime = "runc"\n' },
    ]);
    assert.deepEqual(s, { value: false, setBy: "/b", problems: [] });
  });

  await t.step("keyringSetting() reports a file that does not parse, on one line, and reads the rest", () => {
    const s = keyringSetting([
      { path: "/a", text: "[containers]\nkeyring = false\n" },
      { path: "/bad", text: "[containers\nkeyring = true\n" },
    ]);
    assert.equal(s.value, false);
    assert.equal(s.problems.length, 1);
    assert.equal(s.problems[0]?.path, "/bad");
    assert.ok(!s.problems[0]?.message.includes("\n"));
  });

  await t.step("keyringSetting() ignores a value of the wrong type", () => {
    assert.equal(keyringSetting([{ path: "/a", text: '[containers]\nkeyring = "no"\n' }]).value, undefined);
  });

  await t.step("runtimeSetting() reads [engine] runtime", () => {
    assert.deepEqual(runtimeSetting([{ path: "/a", text: '[engine]\nruntime = "runc"\n' }]), {
      value: "runc",
      setBy: "/a",
      problems: [],
    });
  });

  await t.step("storageDriverSetting() reads [storage] driver, and nothing from an empty one", () => {
    assert.equal(storageDriverSetting({ path: "/s", text: '[storage]\ndriver = "overlay"\n' }).value, "overlay");
    assert.equal(storageDriverSetting({ path: "/s", text: '[storage]\ndriver = ""\n' }).value, undefined);
    assert.equal(storageDriverSetting({ path: "/s", text: "" }).value, undefined);
  });
});
