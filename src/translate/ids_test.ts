import assert from "node:assert/strict";
import { matchId } from "./ids.ts";

Deno.test("matchId(): the exact ID first, else the one ID a prefix names; none or several is undefined", () => {
  const ids = ["abc123", "abd456", "abc"];
  assert.equal(matchId(ids, "abc"), "abc", "exact wins even though it prefixes another");
  assert.equal(matchId(ids, "abd"), "abd456");
  assert.equal(matchId(ids, "ab"), undefined, "several");
  assert.equal(matchId(ids, "zz"), undefined, "none");
  assert.equal(matchId(["x1", "x2", "x3"], "x"), undefined, "three: still ambiguous");
  assert.equal(matchId([], "a"), undefined);
});
