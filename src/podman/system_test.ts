import assert from "node:assert/strict";
import type { LibpodVersion } from "./types.ts";
import { isSupportedApi, libpodApiVersion, MIN_LIBPOD_API } from "./system.ts";

Deno.test("isSupportedApi()", async (t) => {
  const cases: [string | undefined, boolean][] = [
    ["4.3.1", true],
    ["4.3.0", true],
    ["4.3", true],
    ["4.9.3", true],
    ["4.10.0", true],
    ["5.0.0", true],
    ["10.0.0", true],
    ["4.2.9", false],
    ["4.0.0", false],
    ["3.4.4", false],
    ["1.41", false],
    ["", false],
    ["abc", false],
    ["4", false],
    ["v4.3.1", false],
    [undefined, false],
  ];
  for (const [version, want] of cases) {
    await t.step(`isSupportedApi() ${want ? "accepts" : "rejects"} ${JSON.stringify(version)}`, () => {
      assert.equal(isSupportedApi(version), want);
    });
  }

  await t.step("isSupportedApi() accepts exactly MIN_LIBPOD_API", () => {
    assert.equal(isSupportedApi(MIN_LIBPOD_API.join(".")), true);
  });
});

Deno.test("libpodApiVersion()", async (t) => {
  const engine = (apiVersion: string) => ({
    Name: "Podman Engine",
    Version: "4.9.3",
    Details: { APIVersion: apiVersion, MinAPIVersion: "4.0.0", Os: "linux" },
  });

  const cases: [string, LibpodVersion, string | undefined][] = [
    [
      "the APIVersion of the Podman Engine component",
      { Version: "4.9.3", ApiVersion: "4.9.3", Components: [engine("4.9.3")] },
      "4.9.3",
    ],
    [
      "the Podman Engine component wherever it is in the list",
      {
        Version: "9.9.9",
        ApiVersion: "1.41",
        Components: [
          { Name: "Conmon", Version: "conmon version 2.1.10", Details: { Package: "conmon" } },
          engine("4.3.1"),
        ],
      },
      "4.3.1",
    ],
    ["ApiVersion when there are no components", { Version: "4.4.0", ApiVersion: "4.4.0" }, "4.4.0"],
    [
      "ApiVersion when no component is the engine",
      { ApiVersion: "4.5.0", Components: [{ Name: "Conmon", Version: "2.1" }] },
      "4.5.0",
    ],
    ["ApiVersion when the engine has no details", {
      ApiVersion: "4.6.0",
      Components: [{ Name: "Podman Engine", Version: "4.6.0" }],
    }, "4.6.0"],
    ["Version when there is no ApiVersion", { Version: "4.7.0" }, "4.7.0"],
    ["undefined for an empty answer", {}, undefined],
  ];
  for (const [what, answer, want] of cases) {
    await t.step(`libpodApiVersion() reads ${what}`, () => {
      assert.equal(libpodApiVersion(answer), want);
    });
  }

  await t.step("libpodApiVersion() feeds isSupportedApi()", () => {
    assert.equal(isSupportedApi(libpodApiVersion({ Components: [engine("4.2.0")] })), false);
    assert.equal(isSupportedApi(libpodApiVersion({ Components: [engine("5.2.1")] })), true);
  });
});
