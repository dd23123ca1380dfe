import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { AuthConfigSchema } from "../gen/runtime/v1/api_pb.ts";
import { CriError } from "../errors.ts";
import type { LibpodImageInspect, LibpodImageSummary, RegistryCredentials } from "../podman/types.ts";
import {
  parseImageUser,
  toCriImageFromInspect,
  toCriImageFromSummary,
  toImageStatusInfo,
  toRegistryCredentials,
} from "./images.ts";

const HEX = "ab".repeat(32);
const ID = `sha256:${HEX}`;
const DIGEST = `sha256:${"cd".repeat(32)}`;

/** A list item with `over` applied and the `omit` fields removed. */
function summary(
  over: Partial<LibpodImageSummary> = {},
  omit: (keyof LibpodImageSummary)[] = [],
): LibpodImageSummary {
  const img = { Id: HEX, RepoTags: ["docker.io/library/busybox:1.36"], RepoDigests: [], Size: 4_261_550, ...over };
  for (const key of omit) delete img[key];
  return img;
}

/** An inspected image with `over` applied and the `omit` fields removed. */
function inspect(
  over: Partial<LibpodImageInspect> = {},
  omit: (keyof LibpodImageInspect)[] = [],
): LibpodImageInspect {
  const img: LibpodImageInspect = {
    Id: HEX,
    Digest: DIGEST,
    RepoTags: ["docker.io/library/busybox:1.36"],
    RepoDigests: [`docker.io/library/busybox@${DIGEST}`],
    Size: 4_261_550,
    Created: "2024-01-01T00:00:00Z",
    Architecture: "amd64",
    Os: "linux",
    Config: { User: "", Cmd: ["sh"], Env: ["PATH=/bin"] },
    ...over,
  };
  for (const key of omit) delete img[key];
  return img;
}

function auth(init: MessageInitShape<typeof AuthConfigSchema>) {
  return create(AuthConfigSchema, init);
}

function base64(text: string): string {
  return Buffer.from(text, "utf8").toString("base64");
}

Deno.test("toCriImageFromSummary()", async (t) => {
  await t.step("toCriImageFromSummary() converts ID, names, size and spec", () => {
    assert.deepEqual(
      toCriImageFromSummary(summary({ RepoDigests: [`docker.io/library/busybox@${DIGEST}`] })),
      {
        id: ID,
        repoTags: ["docker.io/library/busybox:1.36"],
        repoDigests: [`docker.io/library/busybox@${DIGEST}`],
        size: 4_261_550n,
        spec: { image: ID },
        pinned: false,
      },
    );
  });

  await t.step("toCriImageFromSummary() keeps an ID that already has the sha256: prefix", () => {
    assert.equal(toCriImageFromSummary(summary({ Id: ID })).id, ID);
  });

  const sizes: [string, number, bigint][] = [
    ["an integer size", 42, 42n],
    ["a size above 2^32", 5_000_000_000, 5_000_000_000n],
    ["a fractional size, truncated", 10.9, 10n],
    ["a negative size, as 0", -1, 0n],
    ["a zero size", 0, 0n],
  ];
  for (const [what, size, want] of sizes) {
    await t.step(`toCriImageFromSummary() gives ${what} as a bigint`, () => {
      assert.equal(toCriImageFromSummary(summary({ Size: size })).size, want);
    });
  }

  await t.step("toCriImageFromSummary() gives missing names as empty lists", () => {
    const image = toCriImageFromSummary(summary({}, ["RepoTags", "RepoDigests"]));
    assert.deepEqual(image.repoTags, []);
    assert.deepEqual(image.repoDigests, []);
  });

  const names: [string, Partial<LibpodImageSummary>, string[], string[]][] = [
    ["null names as empty lists", { RepoTags: null, RepoDigests: null }, [], []],
    ["drops <none>:<none>", { RepoTags: ["<none>:<none>"], RepoDigests: ["<none>@<none>"] }, [], []],
    ["drops a bare <none>", { RepoTags: ["<none>"] }, [], []],
    [
      "keeps real names next to <none> ones",
      { RepoTags: ["<none>:<none>", "localhost/x:1"], RepoDigests: ["<none>@<none>", `localhost/x@${DIGEST}`] },
      ["localhost/x:1"],
      [`localhost/x@${DIGEST}`],
    ],
    [
      // Podman lists the pull reference of an image pulled by digest among RepoTags; repo_tags holds name:tag only.
      "leaves digest references out of repoTags",
      {
        RepoTags: [`127.0.0.1:5000/x@${DIGEST}`, "127.0.0.1:5000/x:v1"],
        RepoDigests: [`127.0.0.1:5000/x@${DIGEST}`],
      },
      ["127.0.0.1:5000/x:v1"],
      [`127.0.0.1:5000/x@${DIGEST}`],
    ],
    [
      "gives no tags for an image pulled by digest only",
      { RepoTags: [`127.0.0.1:5000/x@${DIGEST}`], RepoDigests: [`127.0.0.1:5000/x@${DIGEST}`] },
      [],
      [`127.0.0.1:5000/x@${DIGEST}`],
    ],
    [
      "keeps a registry port in a tag",
      { RepoTags: ["127.0.0.1:5000/x:latest"] },
      ["127.0.0.1:5000/x:latest"],
      [],
    ],
  ];
  for (const [what, over, repoTags, repoDigests] of names) {
    await t.step(`toCriImageFromSummary() ${what}`, () => {
      const image = toCriImageFromSummary(summary(over));
      assert.deepEqual(image.repoTags, repoTags);
      assert.deepEqual(image.repoDigests, repoDigests);
    });
  }

  await t.step("toCriImageFromSummary() marks an image pinned when its CRI ID is in the pinned set", () => {
    assert.equal(toCriImageFromSummary(summary(), new Set([ID])).pinned, true);
    assert.equal(toCriImageFromSummary(summary(), new Set([HEX])).pinned, false);
    assert.equal(toCriImageFromSummary(summary(), new Set()).pinned, false);
  });

  await t.step("toCriImageFromSummary() sets no user", () => {
    const image = toCriImageFromSummary(summary());
    assert.equal(image.uid, undefined);
    assert.equal(image.username, undefined);
  });
});

Deno.test("toCriImageFromInspect()", async (t) => {
  const users: [
    string,
    Partial<LibpodImageInspect>,
    bigint | undefined,
    string | undefined,
    (keyof LibpodImageInspect)[]?,
  ][] = [
    ["a numeric user as uid", { Config: { User: "1000" } }, 1000n, undefined],
    ["a numeric user:group as uid", { Config: { User: "1000:1000" } }, 1000n, undefined],
    ["root by number as uid 0", { Config: { User: "0" } }, 0n, undefined],
    ["a named user as username", { Config: { User: "nobody" } }, undefined, "nobody"],
    ["a named user:group as username", { Config: { User: "nobody:nogroup" } }, undefined, "nobody"],
    ["an empty user as neither", { Config: { User: "" } }, undefined, undefined],
    ["no config as neither", {}, undefined, undefined, ["Config"]],
    ["the top-level User when the config has none", { Config: {}, User: "1001" }, 1001n, undefined],
    ["the config's User over the top-level one", { Config: { User: "daemon" }, User: "1001" }, undefined, "daemon"],
  ];
  for (const [what, over, uid, username, omit] of users) {
    await t.step(`toCriImageFromInspect() gives ${what}`, () => {
      const image = toCriImageFromInspect(inspect(over, omit));
      assert.deepEqual(image.uid, uid === undefined ? undefined : { value: uid });
      assert.equal(image.username, username);
      assert.ok(!("uid" in image) || uid !== undefined, "uid must be absent, not undefined");
      assert.ok(!("username" in image) || username !== undefined, "username must be absent, not undefined");
    });
  }

  await t.step("toCriImageFromInspect() converts ID, names, size and pinned", () => {
    const image = toCriImageFromInspect(
      inspect({ RepoTags: ["<none>:<none>", "localhost/x:1", `localhost/x@${DIGEST}`], Size: 7.5 }),
      new Set([ID]),
    );
    assert.equal(image.id, ID);
    assert.deepEqual(image.repoTags, ["localhost/x:1"]);
    assert.deepEqual(image.repoDigests, [`docker.io/library/busybox@${DIGEST}`]);
    assert.equal(image.size, 7n);
    assert.equal(image.pinned, true);
  });

  await t.step("toCriImageFromInspect() copies annotations into the spec", () => {
    const annotations = { "org.opencontainers.image.title": "x" };
    const image = toCriImageFromInspect(inspect({ Annotations: annotations }));
    assert.deepEqual(image.spec, { image: ID, annotations });
    assert.notEqual(image.spec?.annotations, annotations, "annotations must be copied");
  });

  await t.step("toCriImageFromInspect() leaves annotations out of the spec when there are none", () => {
    assert.deepEqual(toCriImageFromInspect(inspect({ Annotations: null })).spec, { image: ID });
    assert.deepEqual(toCriImageFromInspect(inspect()).spec, { image: ID });
  });
});

Deno.test("parseImageUser()", async (t) => {
  const cases: [string, { uid?: bigint; username?: string }][] = [
    ["1000", { uid: 1000n }],
    ["1000:1000", { uid: 1000n }],
    ["0", { uid: 0n }],
    ["4294967294", { uid: 4294967294n }],
    ["nobody", { username: "nobody" }],
    ["nobody:nogroup", { username: "nobody" }],
    ["1000:nogroup", { uid: 1000n }],
    ["nobody:1000", { username: "nobody" }],
    ["user1", { username: "user1" }],
    ["", {}],
    [":1000", {}],
  ];
  for (const [user, want] of cases) {
    await t.step(
      `parseImageUser() reads ${JSON.stringify(user)} as ${
        JSON.stringify(want, (_, v) => typeof v === "bigint" ? `${v}n` : v)
      }`,
      () => {
        assert.deepEqual(parseImageUser(user), want);
      },
    );
  }
});

Deno.test("toImageStatusInfo()", async (t) => {
  await t.step("toImageStatusInfo() puts the image's facts and config as JSON under info", () => {
    const img = inspect({
      Labels: { a: "b" },
      Annotations: { c: "d" },
      Config: { User: "1000", Cmd: ["sh"], Env: ["PATH=/bin"], WorkingDir: "/w" },
    });
    const info = toImageStatusInfo(img);
    assert.deepEqual(Object.keys(info), ["info"]);
    assert.deepEqual(JSON.parse(info["info"]!), {
      id: HEX,
      digest: DIGEST,
      created: "2024-01-01T00:00:00Z",
      architecture: "amd64",
      os: "linux",
      labels: { a: "b" },
      annotations: { c: "d" },
      imageSpec: { config: { User: "1000", Cmd: ["sh"], Env: ["PATH=/bin"], WorkingDir: "/w" } },
    });
  });

  await t.step("toImageStatusInfo() gives empty objects when labels, annotations and config are missing", () => {
    const parsed = JSON.parse(
      toImageStatusInfo(inspect({ Labels: null }, ["Annotations", "Config"]))["info"]!,
    );
    assert.deepEqual(parsed.labels, {});
    assert.deepEqual(parsed.annotations, {});
    assert.deepEqual(parsed.imageSpec, { config: {} });
  });
});

Deno.test("toRegistryCredentials()", async (t) => {
  const cases: [string, Parameters<typeof auth>[0] | undefined, RegistryCredentials | undefined][] = [
    ["undefined for no AuthConfig", undefined, undefined],
    ["undefined for an all-empty AuthConfig", {}, undefined],
    ["username and password", { username: "u", password: "p" }, { username: "u", password: "p" }],
    ["a username alone", { username: "u" }, { username: "u" }],
    ["auth decoded", { auth: base64("user:pass") }, { username: "user", password: "pass" }],
    [
      "auth over username and password",
      { username: "other", password: "wrong", auth: base64("user:pass") },
      { username: "user", password: "pass" },
    ],
    ["auth with a colon in the password", { auth: base64("user:pa:ss") }, { username: "user", password: "pa:ss" }],
    ["auth with an empty password", { auth: base64("user:") }, { username: "user", password: "" }],
    ["an identity token", { identityToken: "idt" }, { identityToken: "idt" }],
    [
      "every supported field together",
      { username: "u", password: "p", identityToken: "idt", serverAddress: "quay.io" },
      { username: "u", password: "p", identityToken: "idt", serverAddress: "quay.io" },
    ],
  ];
  for (const [what, init, want] of cases) {
    await t.step(`toRegistryCredentials() gives ${what}`, () => {
      assert.deepEqual(toRegistryCredentials(init === undefined ? undefined : auth(init)), want);
    });
  }

  await t.step("toRegistryCredentials() refuses a registry token, which libpod would drop", () => {
    assert.throws(() => toRegistryCredentials(auth({ registryToken: "rt" })), (err: unknown) => {
      assert.ok(err instanceof CriError);
      assert.equal(err.code, "InvalidArgument");
      assert.match(err.message, /^auth\.registry_token is not supported/);
      return true;
    });
  });

  const badAuth: [string, string][] = [
    ["no colon", base64("userpass")],
    ["an empty username", base64(":pass")],
    ["empty after decoding", "===="],
  ];
  for (const [what, value] of badAuth) {
    await t.step(`toRegistryCredentials() rejects an auth with ${what} as InvalidArgument naming auth.auth`, () => {
      assert.throws(() => toRegistryCredentials(auth({ auth: value })), (err: unknown) => {
        assert.ok(err instanceof CriError);
        assert.equal(err.code, "InvalidArgument");
        assert.match(err.message, /^auth\.auth /);
        return true;
      });
    });
  }
});
