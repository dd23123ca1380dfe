import assert from "node:assert/strict";
import {
  absolutePathProblem,
  infraImageProblem,
  ipv4CidrProblem,
  ociRuntimeProblem,
  registryProblem,
  socketPathProblem,
} from "./rules.ts";

/** A row of a table: the value, then undefined if it is fine, or a pattern its problem must match. */
type Case = [string, RegExp | undefined];

/** Runs one step per row: `problem(value)` is undefined for a good value and matches the pattern for a bad one. */
async function table(
  t: Deno.TestContext,
  name: string,
  problem: (text: string) => string | undefined,
  cases: readonly Case[],
): Promise<void> {
  for (const [value, want] of cases) {
    const label = want === undefined ? "accepts" : "refuses";
    await t.step(`${name}() ${label} ${JSON.stringify(value)}`, () => {
      const got = problem(value);
      if (want === undefined) assert.equal(got, undefined);
      else {
        assert.ok(got !== undefined, `expected a problem with ${JSON.stringify(value)}`);
        assert.match(got, want);
        assert.ok(!got.includes("\n"), "one line");
      }
    });
  }
}

Deno.test("ipv4CidrProblem()", async (t) => {
  await table(t, "ipv4CidrProblem", ipv4CidrProblem, [
    ["10.85.0.0/16", undefined],
    ["10.0.0.0/8", undefined],
    ["172.16.0.0/12", undefined],
    ["192.168.1.0/24", undefined],
    ["10.1.2.4/30", undefined],
    ["255.255.255.252/30", undefined],
    ["10.85.0.0/33", /^prefix length 33 is out of range \(8–30\)$/],
    ["10.85.0.0/31", /^prefix length 31 is out of range \(8–30\)$/],
    ["10.85.0.0/32", /prefix length 32 is out of range/],
    ["10.0.0.0/7", /^prefix length 7 is out of range \(8–30\)$/],
    ["0.0.0.0/0", /prefix length 0 is out of range/],
    ["10.85.0.0/016", /leading zero/],
    ["10.85.0.1/16", /^"10\.85\.0\.1\/16" has host bits set: the network address would be "10\.85\.0\.0\/16"$/],
    ["10.1.2.3/30", /network address would be "10\.1\.2\.0\/30"/],
    ["192.168.1.128/24", /network address would be "192\.168\.1\.0\/24"/],
    ["256.0.0.0/8", /octet "256" is out of range \(0–255\)/],
    ["10.300.0.0/16", /octet "300" is out of range/],
    ["010.85.0.0/16", /octet "010" has a leading zero/],
    ["10.85.00.0/16", /octet "00" has a leading zero/],
    ["10.85.0/16", /is not an IPv4 address/],
    ["10.85.0.0.0/16", /is not an IPv4 address/],
    ["a.b.c.d/16", /is not an IPv4 address/],
    ["10.85.0.0", /is not an IPv4 CIDR \(expected address\/length/],
    ["10.85.0.0/", /is not an IPv4 CIDR/],
    ["10.85.0.0/16/1", /is not an IPv4 CIDR/],
    [" 10.85.0.0/16", /is not an IPv4/],
    ["10.85.0.0/16 ", /is not an IPv4 CIDR/],
    ["10.85.0.0/+16", /is not an IPv4 CIDR/],
    ["fd00::/64", /is not an IPv4/],
    ["", /is not an IPv4 CIDR/],
  ]);
});

Deno.test("registryProblem()", async (t) => {
  await table(t, "registryProblem", registryProblem, [
    ["localhost", undefined],
    ["127.0.0.1", undefined],
    ["[::1]", undefined],
    ["[::1]:5000", undefined],
    ["[2001:db8::1]:443", undefined],
    ["[fe80:0:0:0:0:0:0:1]", undefined],
    ["registry.local", undefined],
    ["registry.local:5000", undefined],
    ["Registry.Example.COM", undefined],
    ["my-registry:1", undefined],
    ["10.0.0.5:65535", undefined],
    ["", /must not contain empty names/],
    [
      "http://bad host/",
      /^"http:\/\/bad host\/" is not a registry host\[:port\]: drop the scheme "http:\/\/"$/,
    ],
    ["https://registry.local:5000", /drop the scheme "https:\/\/"/],
    ["registry.local/v2", /drop the path "\/v2"$/],
    ["registry.local:5000/", /drop the path "\/"$/],
    ["bad host", /contains whitespace/],
    ["registry.local\t", /contains whitespace/],
    ["user@registry.local", /drop the user info before "@"/],
    ["*.example.com", /wildcards are not supported: list each host/],
    ["reg:0", /port "0" is not a number 1–65535/],
    ["reg:65536", /port "65536" is not a number 1–65535/],
    ["reg:05000", /without leading zeros/],
    ["reg:http", /port "http"/],
    ["reg:", /the port after ":" is missing/],
    ["::1", /write an IPv6 address in brackets: "\[::1\]"/],
    ["a:b:c", /too many colons/],
    ["[::1", /"\]" is missing/],
    ["[::1]x", /unexpected "x" after "\[::1\]"/],
    ["[not:ipv6:zz]", /is not an IPv6 address/],
    ["[1:2:3:4:5:6:7:8:9]", /is not an IPv6 address/],
    ["[::ffff:127.0.0.1]", /is not an IPv6 address/],
    ["256.1.1.1", /octet "256" is out of range/],
    ["127.1", /is not an IPv4 address/],
    ["reg_istry", /"reg_istry" is not a host name/],
    ["-registry", /is not a host name/],
    ["registry-.local", /is not a host name/],
    ["registry..local", /is not a host name/],
    ["registry.local.", /is not a host name/],
    [`${"a".repeat(64)}.local`, /is not a host name/],
    [":5000", /is not a host name/],
  ]);

  await t.step("registryProblem() never repeats a password from user info", () => {
    const problem = registryProblem("http://user:s3cret@registry.local")!;
    assert.ok(!problem.includes("s3cret"), problem);
    assert.ok(!registryProblem("user:s3cret@registry.local")!.includes("s3cret"));
  });
});

Deno.test("socketPathProblem() and absolutePathProblem()", async (t) => {
  await table(t, "socketPathProblem", socketPathProblem, [
    ["/run/user/1000/cri-podman/cri-podman.sock", undefined],
    ["/tmp/cri.sock", undefined],
    ["/a/./b.sock", undefined],
    ["/a/..b/c.sock", undefined],
    [`/${"a".repeat(106)}`, undefined],
    ["cri.sock", /^must be an absolute path \(got "cri\.sock"\)$/],
    ["./cri.sock", /must be an absolute path/],
    ["", /must be an absolute path/],
    ["/run/../tmp/cri.sock", /must not contain "\.\." segments/],
    ["/run/..", /must not contain "\.\." segments/],
    ["/tmp/a\0b", /"\/tmp\/a\\u0000b" must not contain a NUL character/],
    [`/${"a".repeat(107)}`, /is 108 bytes long; a unix socket path must be shorter than 108 bytes/],
    // Bytes, not characters: "é" is two bytes in UTF-8.
    [`/${"é".repeat(54)}`, /is 109 bytes long/],
  ]);

  await t.step("absolutePathProblem() does not limit the length", () => {
    assert.equal(absolutePathProblem(`/${"a".repeat(300)}`), undefined);
  });
});

Deno.test("ociRuntimeProblem()", async (t) => {
  await table(t, "ociRuntimeProblem", ociRuntimeProblem, [
    ["runc", undefined],
    ["crun", undefined],
    ["kata-runtime", undefined],
    ["runsc_1.0+x", undefined],
    ["/usr/bin/kata-runtime", undefined],
    ["/opt/runtimes/crun.1", undefined],
    ["", /must name an OCI runtime/],
    ["bin/crun", /"bin\/crun" is a relative path/],
    ["./crun", /is a relative path/],
    ["/usr/../bin/crun", /must not contain "\.\." segments/],
    ["..", /is not an OCI runtime name/],
    ["run c", /"run c" is not an OCI runtime name/],
    ["crun;rm", /is not an OCI runtime name/],
  ]);
});

Deno.test("infraImageProblem()", async (t) => {
  await table(t, "infraImageProblem", infraImageProblem, [
    ["", undefined],
    ["pause", undefined],
    ["registry.k8s.io/pause:3.10", undefined],
    ["localhost/podman-pause:4.3.1-0", undefined],
    ["127.0.0.1:5000/pause:v1", undefined],
    ["Registry.Example.com/pause", undefined],
    [`registry.k8s.io/pause@sha256:${"a".repeat(64)}`, undefined],
    ["registry.k8s.io/pause:3.10 ", /contains whitespace/],
    ["my pause", /contains whitespace/],
    ["Pause:3.10", /^"Pause:3\.10" is not an image reference: the repository name must be lower case$/],
    ["registry.k8s.io/Pause", /must be lower case/],
    ["Library/pause", /must be lower case/],
    ["registry.k8s.io/pause:", /expected \[registry\/\]repository\[:tag\]\[@digest\]/],
    ["pause@sha256:abc", /expected \[registry\/\]repository/],
    ["https://registry.k8s.io/pause", /expected/],
    [`registry.k8s.io/${"a".repeat(250)}`, /longer than 255 characters/],
  ]);
});
