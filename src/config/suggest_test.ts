import assert from "node:assert/strict";
import { closestName, editDistance } from "./suggest.ts";

Deno.test("editDistance()", async (t) => {
  const cases: [string, string, number][] = [
    ["", "", 0],
    ["listen", "listen", 0],
    ["", "abc", 3],
    ["lsiten", "listen", 1],
    ["serv", "serve", 1],
    ["kitten", "sitting", 3],
    ["start", "serve", 4],
  ];
  for (const [a, b, want] of cases) {
    await t.step(`editDistance() of ${JSON.stringify(a)} and ${JSON.stringify(b)} is ${want}`, () => {
      assert.equal(editDistance(a, b), want);
      assert.equal(editDistance(b, a), want);
    });
  }
});

Deno.test("closestName()", async (t) => {
  const flags = ["config", "help", "version", "listen", "podman-socket", "embedded-podman", "no-embedded-podman"];
  const cases: [string, readonly string[], string | undefined][] = [
    ["lsiten", flags, "listen"],
    ["LISTEN", flags, "listen"],
    ["verison", flags, "version"],
    ["podman-sockt", flags, "podman-socket"],
    ["embeded-podman", flags, "embedded-podman"],
    ["bogus", flags, undefined],
    ["frobnicate", flags, undefined],
    ["", flags, undefined],
    ["serv", ["serve", "version", "config", "help"], "serve"],
    ["start", ["serve", "version", "config", "help"], undefined],
    // A unique start or last part of a known name is suggested even when the distance is large.
    ["log", ["log-level", "listen"], "log-level"],
    ["SOCKET", ["LISTEN", "PODMAN_SOCKET"], "PODMAN_SOCKET"],
    ["INSECURE_REGISTRIES", ["LISTEN", "IMAGES_INSECURE_REGISTRIES"], "IMAGES_INSECURE_REGISTRIES"],
    // …but not when two names fit.
    ["po", ["podman-socket", "pods"], undefined],
    ["POD", ["PODMAN_SOCKET", "PODS_NETWORK"], undefined],
  ];
  for (const [word, known, want] of cases) {
    await t.step(`closestName() suggests ${want ?? "nothing"} for ${JSON.stringify(word)}`, () => {
      assert.equal(closestName(word, known), want);
    });
  }
});
