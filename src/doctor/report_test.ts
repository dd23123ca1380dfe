import assert from "node:assert/strict";
import type { Check } from "./checks.ts";
import { exitStatus, renderJson, renderText, verdictLine } from "./report.ts";

const OK: Check = { id: "podman", verdict: "ok", summary: "Podman 4.3.1" };
const WARN: Check = {
  id: "mqueue",
  verdict: "warn",
  summary: '"/dev/mqueue" is not mounted',
  detail: "pods with hostIPC cannot run",
  fix: "mount it",
};
const FAIL: Check = { id: "tun", verdict: "fail", summary: '"/dev/net/tun" cannot be opened', fix: "chmod it" };
const FAIL2: Check = { id: "runtime-dir", verdict: "fail", summary: "missing", fix: "make it" };

Deno.test("renderText()", async (t) => {
  await t.step("renderText() aligns the ids and indents detail and fix under the summary", () => {
    assert.equal(
      renderText([OK, WARN, FAIL]),
      [
        "ok   podman  Podman 4.3.1",
        'warn mqueue  "/dev/mqueue" is not mounted',
        "             pods with hostIPC cannot run",
        "             fix: mount it",
        'FAIL tun     "/dev/net/tun" cannot be opened',
        "             fix: chmod it",
        "pods cannot run: tun",
      ].join("\n"),
    );
  });

  await t.step("renderText() ends with pods can run when only warnings are left", () => {
    assert.match(renderText([OK, WARN]), /\npods can run$/);
  });
});

Deno.test("verdictLine()", async (t) => {
  const cases: [string, Check[], string][] = [
    ["all ok", [OK], "pods can run"],
    ["warnings only", [OK, WARN], "pods can run"],
    ["one failure", [OK, FAIL], "pods cannot run: tun"],
    ["two failures, in check order", [FAIL2, WARN, FAIL], "pods cannot run: runtime-dir, tun"],
  ];
  for (const [what, checks, line] of cases) {
    await t.step(`verdictLine() says ${JSON.stringify(line)} for ${what}`, () => {
      assert.equal(verdictLine(checks), line);
    });
  }
});

Deno.test("renderJson()", async (t) => {
  await t.step("renderJson() is an array of {id, verdict, summary, detail?, fix?} in check order", () => {
    assert.deepEqual(JSON.parse(renderJson([OK, WARN, FAIL])), [
      { id: "podman", verdict: "ok", summary: "Podman 4.3.1" },
      {
        id: "mqueue",
        verdict: "warn",
        summary: '"/dev/mqueue" is not mounted',
        detail: "pods with hostIPC cannot run",
        fix: "mount it",
      },
      { id: "tun", verdict: "fail", summary: '"/dev/net/tun" cannot be opened', fix: "chmod it" },
    ]);
  });

  await t.step("renderJson() leaves absent fields out, not null", () => {
    assert.deepEqual(Object.keys(JSON.parse(renderJson([OK]))[0]), ["id", "verdict", "summary"]);
  });
});

Deno.test("exitStatus()", async (t) => {
  const cases: [string, Check[], 0 | 1][] = [
    ["all ok", [OK], 0],
    ["warnings", [OK, WARN], 0],
    ["a failure", [OK, WARN, FAIL], 1],
    ["no checks", [], 0],
  ];
  for (const [what, checks, status] of cases) {
    await t.step(`exitStatus() is ${status} for ${what}`, () => assert.equal(exitStatus(checks), status));
  }
});
