/**
 * `cri-podman doctor`: gathers the host's facts, judges each prerequisite of running pods, and renders the result.
 * @module
 */
import type { Config } from "../config/schema.ts";
import { runChecks } from "./checks.ts";
import { gatherFacts } from "./facts.ts";
import { exitStatus, renderJson, renderText } from "./report.ts";

/** Runs every check for the current user with `config`; the output to print and the exit status (1: pods cannot run). */
export async function runDoctor(config: Config, opts: { json: boolean }): Promise<{ output: string; status: 0 | 1 }> {
  const facts = await gatherFacts({
    config,
    env: Deno.env.toObject(),
    uid: Deno.uid() ?? 0,
    gid: Deno.gid() ?? 0,
  });
  const checks = runChecks(facts);
  return { output: opts.json ? renderJson(checks) : renderText(checks), status: exitStatus(checks) };
}
