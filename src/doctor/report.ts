/**
 * How `cri-podman doctor` shows its checks: aligned text for people, a JSON array for tests and scripts, and the exit
 * status rule (1 when a check failed, because pods cannot run; warnings do not fail). Pure.
 * @module
 */
import type { Check, Verdict } from "./checks.ts";

const LABELS: Record<Verdict, string> = { ok: "ok  ", warn: "warn", fail: "FAIL" };

/**
 * One line per check (`ok   <id>  <summary>`), with the detail and `fix: …` indented below a warning or a failure,
 * then the verdict line (`pods can run` or `pods cannot run: <ids>`).
 */
export function renderText(checks: readonly Check[]): string {
  const width = Math.max(0, ...checks.map((c) => c.id.length));
  const indent = " ".repeat(LABELS.ok.length + 1 + width + 2);
  const lines: string[] = [];
  for (const c of checks) {
    lines.push(`${LABELS[c.verdict]} ${c.id.padEnd(width)}  ${c.summary}`);
    if (c.detail !== undefined) lines.push(`${indent}${c.detail}`);
    if (c.fix !== undefined) lines.push(`${indent}fix: ${c.fix}`);
  }
  lines.push(verdictLine(checks));
  return lines.join("\n");
}

/** The closing line: `pods can run`, or `pods cannot run: ` and the ids of the failed checks. */
export function verdictLine(checks: readonly Check[]): string {
  const failed = checks.filter((c) => c.verdict === "fail").map((c) => c.id);
  return failed.length === 0 ? "pods can run" : `pods cannot run: ${failed.join(", ")}`;
}

/** The checks as a JSON array of `{id, verdict, summary, detail?, fix?}`, in check order. */
export function renderJson(checks: readonly Check[]): string {
  return JSON.stringify(
    checks.map((c) => ({
      id: c.id,
      verdict: c.verdict,
      summary: c.summary,
      ...(c.detail !== undefined ? { detail: c.detail } : {}),
      ...(c.fix !== undefined ? { fix: c.fix } : {}),
    })),
    null,
    2,
  );
}

/** The exit status of a doctor run: 1 when any check failed (pods cannot run), else 0. */
export function exitStatus(checks: readonly Check[]): 0 | 1 {
  return checks.some((c) => c.verdict === "fail") ? 1 : 0;
}
