import assert from "node:assert/strict";
import { CriError } from "../errors.ts";
import {
  DEFAULT_DOMAIN,
  formatImageReference,
  type ImageReference,
  isInsecureRegistry,
  normalizeForPull,
  parseImageReference,
  toCriImageId,
  toImageTarget,
} from "./image_ref.ts";

const HEX64 = "0123456789abcdef".repeat(4);
const DIGEST = `sha256:${HEX64}`;

/** Quotes `text` for a step name, with long hex shortened. */
function label(text: string): string {
  const short = JSON.stringify(text.replaceAll(HEX64, "<hex64>"));
  return short.length > 70 ? `${short.slice(0, 70)}…"` : short;
}

/** Asserts that `fn` throws an InvalidArgument CriError whose message names `field`. */
function assertInvalid(fn: () => unknown, field: string, detail?: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof CriError, `expected a CriError, got ${err}`);
    assert.equal(err.code, "InvalidArgument");
    assert.ok(err.message.startsWith(field), `message ${JSON.stringify(err.message)} does not name ${field}`);
    if (detail) assert.match(err.message, detail);
    return true;
  });
}

Deno.test("parseImageReference()", async (t) => {
  const valid: [string, ImageReference][] = [
    ["busybox", { domain: "", path: "busybox" }],
    ["busybox:1.36", { domain: "", path: "busybox", tag: "1.36" }],
    ["library/busybox", { domain: "", path: "library/busybox" }],
    ["docker.io/library/busybox:latest", { domain: "docker.io", path: "library/busybox", tag: "latest" }],
    ["127.0.0.1:5000/a/b:tag", { domain: "127.0.0.1:5000", path: "a/b", tag: "tag" }],
    ["localhost/x", { domain: "localhost", path: "x" }],
    [`localhost:5000/x@${DIGEST}`, { domain: "localhost:5000", path: "x", digest: DIGEST }],
    ["[::1]:5000/x:y", { domain: "[::1]:5000", path: "x", tag: "y" }],
    ["[::1]/x", { domain: "[::1]", path: "x" }],
    ["a/b/c/d", { domain: "", path: "a/b/c/d" }],
    ["a__b", { domain: "", path: "a__b" }],
    ["a-b", { domain: "", path: "a-b" }],
    ["a--b", { domain: "", path: "a--b" }],
    ["a_b", { domain: "", path: "a_b" }],
    ["a.b", { domain: "", path: "a.b" }],
    ["Upper.com/x", { domain: "Upper.com", path: "x" }],
    ["registry:5000/x", { domain: "registry:5000", path: "x" }],
    ["quay.io/org/app:v1.2.3-rc_1", { domain: "quay.io", path: "org/app", tag: "v1.2.3-rc_1" }],
    [`busybox:1.36@${DIGEST}`, { domain: "", path: "busybox", tag: "1.36", digest: DIGEST }],
    [`x@sha512:${HEX64}${HEX64}`, { domain: "", path: "x", digest: `sha512:${HEX64}${HEX64}` }],
    ["x:" + "t".repeat(128), { domain: "", path: "x", tag: "t".repeat(128) }],
  ];
  for (const [text, want] of valid) {
    await t.step(`parseImageReference() accepts ${label(text)}`, () => {
      assert.deepEqual(parseImageReference(text), want);
    });
  }

  const invalid: [string, string, RegExp?][] = [
    ["empty", "", /must not be empty/],
    ["a double slash", "Bad//Ref"],
    ["an uppercase first component that is not a domain", "UPPER/x", /must be lowercase/],
    ["an uppercase repository path under a domain", "docker.io/Library/x"],
    ["an uppercase short name", "Busybox"],
    ["an empty tag", "x:"],
    ["a short digest", "x@sha256:short"],
    ["a digest that is too short to be one", "x@sha256:abc123"],
    ["a trailing slash", "library/busybox/"],
    ["a leading slash", "/busybox"],
    ["a tag only", ":tag"],
    ["a digest only", `@${DIGEST}`],
    ["three underscores", "a___b"],
    ["two dots", "a..b"],
    ["a leading separator", "-a"],
    ["a trailing separator", "a-"],
    ["a space", "busy box"],
    ["a tag longer than 128 characters", "x:" + "t".repeat(129)],
    ["a tag starting with a dot", "x:.tag"],
    ["a name longer than 255 characters", "a".repeat(256), /longer than 255/],
    ["a qualified name longer than 255 characters", `example.com/${"a".repeat(244)}`, /longer than 255/],
  ];
  for (const [what, text, detail] of invalid) {
    await t.step(`parseImageReference() rejects ${what}`, () => {
      assertInvalid(() => parseImageReference(text), "image.image", detail);
    });
  }

  await t.step("parseImageReference() accepts a qualified name of exactly 255 characters", () => {
    const text = `example.com/${"a".repeat(243)}`;
    assert.equal(text.length, 255);
    assert.equal(parseImageReference(text).path.length, 243);
  });

  await t.step("parseImageReference() names the given field in its errors", () => {
    assertInvalid(() => parseImageReference("", "image.spec.image"), "image.spec.image");
    assertInvalid(() => parseImageReference("UPPER/x", "image.spec.image"), "image.spec.image", /"UPPER\/x"/);
  });

  await t.step("parseImageReference() says the format is invalid and quotes the input", () => {
    assert.throws(() => parseImageReference("Bad//Ref"), {
      name: "CriError",
      message: 'image.image "Bad//Ref" is not a valid image reference: invalid reference format',
    });
  });
});

Deno.test("formatImageReference()", async (t) => {
  const texts = [
    "busybox",
    "busybox:1.36",
    "library/busybox",
    "docker.io/library/busybox:latest",
    "127.0.0.1:5000/a/b:tag",
    `localhost:5000/x@${DIGEST}`,
    `busybox:1.36@${DIGEST}`,
    "[::1]:5000/x:y",
    "Upper.com/x",
  ];
  for (const text of texts) {
    await t.step(`formatImageReference() round-trips ${label(text)}`, () => {
      assert.equal(formatImageReference(parseImageReference(text)), text);
    });
  }
});

Deno.test("normalizeForPull()", async (t) => {
  const cases: [string, string][] = [
    ["busybox", "docker.io/library/busybox:latest"],
    ["busybox:1.36", "docker.io/library/busybox:1.36"],
    ["a/b", "docker.io/a/b:latest"],
    ["docker.io/busybox", "docker.io/library/busybox:latest"],
    ["docker.io/library/busybox", "docker.io/library/busybox:latest"],
    ["docker.io/a/b:1", "docker.io/a/b:1"],
    ["index.docker.io/x", "docker.io/library/x:latest"],
    [`busybox@${DIGEST}`, `docker.io/library/busybox@${DIGEST}`],
    [`busybox:1.36@${DIGEST}`, `docker.io/library/busybox:1.36@${DIGEST}`],
    [`127.0.0.1:5000/x@${DIGEST}`, `127.0.0.1:5000/x@${DIGEST}`],
    ["localhost/x", "localhost/x:latest"],
    ["localhost:5000/x:y", "localhost:5000/x:y"],
    ["quay.io/x", "quay.io/x:latest"],
  ];
  for (const [input, want] of cases) {
    await t.step(`normalizeForPull() turns ${label(input)} into ${label(want)}`, () => {
      assert.equal(formatImageReference(normalizeForPull(parseImageReference(input))), want);
    });
  }

  await t.step("normalizeForPull() does not modify its argument", () => {
    const ref = parseImageReference("busybox");
    normalizeForPull(ref);
    assert.deepEqual(ref, { domain: "", path: "busybox" });
  });

  await t.step({
    name: 'normalizeForPull() turns "index.docker.io/a/b" into "docker.io/a/b:latest"',
    fn: () => {
      assert.equal(
        formatImageReference(normalizeForPull(parseImageReference("index.docker.io/a/b"))),
        "docker.io/a/b:latest",
      );
    },
  });

  await t.step("normalizeForPull() adds no tag to a digest reference", () => {
    const out = normalizeForPull(parseImageReference(`x@${DIGEST}`));
    assert.equal(out.tag, undefined);
    assert.equal(out.digest, DIGEST);
    assert.equal(out.domain, DEFAULT_DOMAIN);
  });
});

Deno.test("toImageTarget()", async (t) => {
  const ids: [string, string][] = [
    [HEX64, HEX64],
    [`sha256:${HEX64}`, HEX64],
    ["0123456789ab", "0123456789ab"],
    ["sha256:0123456789ab", "0123456789ab"],
    [HEX64.slice(0, 40), HEX64.slice(0, 40)],
  ];
  for (const [text, id] of ids) {
    await t.step(`toImageTarget() reads ${label(text)} as an image ID`, () => {
      assert.deepEqual(toImageTarget(text), { kind: "id", id });
    });
  }

  const references: [string, string[]][] = [
    ["busybox", ["localhost/busybox:latest", "docker.io/library/busybox:latest"]],
    ["busybox:1.36", ["localhost/busybox:1.36", "docker.io/library/busybox:1.36"]],
    ["a/b", ["localhost/a/b:latest", "docker.io/a/b:latest"]],
    [`busybox@${DIGEST}`, [`localhost/busybox@${DIGEST}`, `docker.io/library/busybox@${DIGEST}`]],
    ["docker.io/busybox", ["docker.io/library/busybox:latest"]],
    ["quay.io/a/b", ["quay.io/a/b:latest"]],
    ["localhost/x", ["localhost/x:latest"]],
    ["127.0.0.1:5000/x:y", ["127.0.0.1:5000/x:y"]],
    [`127.0.0.1:5000/x@${DIGEST}`, [`127.0.0.1:5000/x@${DIGEST}`]],
    // Too short to be an ID prefix, too long to be one: both are repository names.
    ["0123456789a", ["localhost/0123456789a:latest", "docker.io/library/0123456789a:latest"]],
    [HEX64 + "0", [`localhost/${HEX64}0:latest`, `docker.io/library/${HEX64}0:latest`]],
  ];
  for (const [text, candidates] of references) {
    await t.step(`toImageTarget() looks ${label(text)} up as ${candidates.map(label).join(", then ")}`, () => {
      const target = toImageTarget(text);
      assert.equal(target.kind, "reference");
      assert.deepEqual(target.kind === "reference" && target.candidates, candidates);
      assert.deepEqual(target.kind === "reference" && target.ref, parseImageReference(text));
    });
  }

  await t.step("toImageTarget() rejects an invalid reference naming the field", () => {
    assertInvalid(() => toImageTarget("Bad//Ref", "image.spec.image"), "image.spec.image");
    assertInvalid(() => toImageTarget(HEX64.toUpperCase()), "image.image");
  });
});

Deno.test("toCriImageId()", async (t) => {
  await t.step("toCriImageId() prefixes a bare hex ID with sha256:", () => {
    assert.equal(toCriImageId(HEX64), `sha256:${HEX64}`);
  });
  await t.step("toCriImageId() keeps an ID that already has the prefix", () => {
    assert.equal(toCriImageId(`sha256:${HEX64}`), `sha256:${HEX64}`);
  });
});

Deno.test("isInsecureRegistry()", async (t) => {
  const cases: [string, string, readonly string[], boolean][] = [
    ["a host entry matches the host on any port", "localhost:5000", ["localhost"], true],
    ["a host entry matches the bare host", "localhost", ["localhost"], true],
    ["an IPv4 host entry matches on any port", "127.0.0.1:5000", ["127.0.0.1"], true],
    ["a host:port entry matches exactly", "myreg:5000", ["myreg:5000"], true],
    ["a host:port entry does not match another port", "myreg:5001", ["myreg:5000"], false],
    ["a host:port entry does not match the bare host", "myreg", ["myreg:5000"], false],
    ["an IPv6 bracket entry matches on any port", "[::1]:5000", ["[::1]"], true],
    ["an IPv6 bracket entry matches the bare address", "[::1]", ["[::1]"], true],
    ["an IPv6 bracket host:port entry matches exactly", "[::1]:5000", ["[::1]:5000"], true],
    ["an IPv6 entry does not match another address", "[::2]:5000", ["[::1]"], false],
    ["another host does not match", "docker.io", ["localhost", "127.0.0.1", "[::1]"], false],
    ["a host is not matched by a suffix", "evil-localhost:5000", ["localhost"], false],
    ["an empty list matches nothing", "localhost", [], false],
  ];
  for (const [what, domain, list, want] of cases) {
    await t.step(`isInsecureRegistry() ${what}`, () => {
      assert.equal(isInsecureRegistry(domain, list), want);
    });
  }
});
