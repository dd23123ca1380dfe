import assert from "node:assert/strict";
import { attributeProcesses } from "./attribution.ts";

const table = (entries: [number, number][]) => new Map(entries.map(([pid, ppid]) => [pid, { ppid }]));

Deno.test("attributeProcesses() gives each process to the nearest conmon above it, conmons to none", () => {
  // 10: conmon of A → 11 (init) → 12 → 13; 20: conmon of B → 21; 30: an exec session's conmon of A → 31;
  // 40: someone else's process; 50: conmon of C (not asked for) → 51.
  const processes = table([
    [1, 0],
    [10, 1],
    [11, 10],
    [12, 11],
    [13, 12],
    [20, 1],
    [21, 20],
    [30, 1],
    [31, 30],
    [
      40,
      1,
    ],
    [50, 1],
    [51, 50],
  ]);
  const conmons = new Map([[10, "A"], [20, "B"], [30, "A"], [50, "C"]]);
  const got = attributeProcesses(processes, conmons, new Set(["A", "B", "D"]));
  assert.deepEqual(Object.fromEntries([...got].map(([k, v]) => [k, v.sort((a, b) => a - b)])), {
    A: [11, 12, 13, 31],
    B: [21],
    D: [],
  });
});

Deno.test("attributeProcesses() survives a parent loop and processes whose parent is gone", () => {
  const processes = table([[5, 6], [6, 5], [7, 99]]);
  assert.deepEqual([...attributeProcesses(processes, new Map(), new Set(["A"]))], [["A", []]]);
});
