/**
 * What the unit tests of the CRI handlers (src/cri/**\/*_test.ts) share on top of the in-process harness: the
 * rejection assertion, sandbox and container configs, "a sandbox with a container in it", the busybox image, hung
 * Podman calls cut by a deadline or a cancel, and the gRPC code each classified libpod failure reaches the client with.
 * @module
 */
import assert from "node:assert/strict";
import { status } from "@grpc/grpc-js";
import type { PodSandboxState } from "../../src/gen/runtime/v1/api_pb.ts";
import type { RuntimeCache } from "../../src/cri/runtime_cache.ts";
import type { PodmanFailure } from "../../src/podman/errors.ts";
import type { LibpodImageInspect } from "../../src/podman/types.ts";
import type { FakeCall, FakePodman } from "../fake_podman.ts";
import { type InProcessCallOptions, type InProcessCri, startInProcessCri } from "./in_process_cri.ts";

/** The reference the fixtures store the busybox image under. */
export const BUSYBOX = "docker.io/library/busybox:latest";

/** For `assert.rejects`: the call failed with `code`, and with details matching `pattern` when one is given. */
export function rejectsWith(code: status, pattern?: RegExp) {
  return (err: { code: status; details: string }) => {
    assert.equal(err.code, code, `expected ${status[code]}, got ${status[err.code]}: ${err.details}`);
    if (pattern) assert.match(err.details, pattern);
    return true;
  };
}

/** Fields to set on a sandbox config; those of `metadata` replace the defaults one by one. */
export type SandboxPatch = {
  metadata?: { namespace?: string; uid?: string; attempt?: number };
  [field: string]: unknown;
};

/** A sandbox config named `name` (namespace default, uid `<name>-uid`, attempt 0) with `patch` on top. */
export function sandboxConfig(name: string, patch: SandboxPatch = {}) {
  const { metadata, ...rest } = patch;
  return { ...rest, metadata: { name, namespace: "default", uid: `${name}-uid`, attempt: 0, ...metadata } };
}

/** Fields to set on a container config, on top of the defaults. */
export type ContainerPatch = Record<string, unknown>;

/** A container config named `name` (attempt 0) running image "busybox", with `patch` on top. */
export function containerConfig(name = "app", patch: ContainerPatch = {}) {
  return { metadata: { name, attempt: 0 }, image: { image: "busybox" }, ...patch };
}

/** Stores the busybox image in the fake unless it is there, and returns its ID. */
export function storeBusybox(cri: InProcessCri, config: LibpodImageInspect["Config"] = {}): string {
  const stored = [...cri.fake.images_.values()].find((i) => i.RepoTags?.includes(BUSYBOX));
  return stored?.Id ?? cri.fake.addImage([BUSYBOX], config);
}

/** Runs a sandbox of `sandboxConfig(name, patch)` and returns its ID. */
export async function runSandbox(cri: InProcessCri, name = "web", patch: SandboxPatch = {}): Promise<string> {
  return (await cri.runtime.runPodSandbox({ config: sandboxConfig(name, patch) })).podSandboxId;
}

/** Runs a sandbox as {@link runSandbox} does and waits out the event feed's reads: what fails next is the handler's. */
export async function settledSandbox(cri: InProcessCri, name = "web", patch: SandboxPatch = {}): Promise<string> {
  const podSandboxId = await runSandbox(cri, name, patch);
  await cri.settle();
  return podSandboxId;
}

/** Stores busybox if needed, creates a container of `containerConfig(name, patch)` in `sandboxId`; returns its ID. */
export async function createContainer(cri: InProcessCri, sandboxId: string, name = "app", patch: ContainerPatch = {}) {
  storeBusybox(cri);
  const config = containerConfig(name, patch);
  return (await cri.runtime.createContainer({ podSandboxId: sandboxId, config })).containerId;
}

/** Creates a container as {@link createContainer} does, starts it and returns its ID. */
export async function startedContainer(cri: InProcessCri, sandboxId: string, name = "app", patch: ContainerPatch = {}) {
  const containerId = await createContainer(cri, sandboxId, name, patch);
  await cri.runtime.startContainer({ containerId });
  return containerId;
}

/** Asserts that `call` refuses an empty ID with INVALID_ARGUMENT naming its `field`. */
export async function refusesEmptyId(field: "container_id" | "pod_sandbox_id", call: (id: string) => Promise<unknown>) {
  await assert.rejects(call(""), rejectsWith(status.INVALID_ARGUMENT, new RegExp(`^${field} must not be empty`)));
}

/** Asserts that `call` answers NOT_FOUND naming an unknown container ID, and INVALID_ARGUMENT for an empty one. */
export async function refusesUnknownAndEmptyContainerId(call: (containerId: string) => Promise<unknown>) {
  await assert.rejects(call("0123456789abcdef"), rejectsWith(status.NOT_FOUND, /0123456789abcdef/));
  await refusesEmptyId("container_id", call);
}

/** One step per request naming no image, an empty one or a malformed one: `call` must answer INVALID_ARGUMENT. */
export async function stepEachBadImage(
  t: Deno.TestContext,
  call: (req: { image?: { image: string } }) => Promise<unknown>,
): Promise<void> {
  const requests: Array<[string, { image?: { image: string } }]> = [
    ["no image", {}],
    ["an empty image", { image: { image: "" } }],
    ["a malformed reference", { image: { image: "Busybox::latest" } }],
  ];
  for (const [what, req] of requests) {
    await t.step(what, async () => {
      await assert.rejects(call(req), rejectsWith(status.INVALID_ARGUMENT, /image\.image/));
    });
  }
}

/** A call under test, run with the per-call options (deadline or signal) it is given. */
export type CallWith = (opts: InProcessCallOptions) => Promise<unknown>;

/** Which calls of a Podman operation to act on, by their arguments. */
export type ArgsFilter = (args: unknown[]) => boolean;

const anyArgs: ArgsFilter = () => true;

/** Makes the next call of `op` that `when` accepts hang until aborted: when it is reached, and its record. */
function hang(cri: InProcessCri, op: string, when: ArgsFilter) {
  const from = cri.fake.calls.length;
  const { promise: reached, resolve } = Promise.withResolvers<void>();
  cri.fake.hangNext(op, (args) => when(args) && (resolve(), true));
  const record = (): FakeCall | undefined => cri.fake.calls.slice(from).find((c) => c.op === op && when(c.args));
  return { reached, record };
}

/** Hangs the next `op` that `when` accepts; `call`, on a 50 ms deadline, must answer DEADLINE_EXCEEDED and abort it. */
export async function hungPastDeadline(cri: InProcessCri, op: string, call: CallWith, when = anyArgs): Promise<void> {
  const hung = hang(cri, op, when);
  await assert.rejects(call({ timeoutMs: 50 }), rejectsWith(status.DEADLINE_EXCEEDED, /deadline/));
  assert.equal(hung.record()?.aborted, true, `the hung ${op} was aborted`);
}

/** Hangs the next `op` that `when` accepts; `call`, cancelled once it hangs, must answer CANCELLED and abort it. */
export async function hungAndCancelled(cri: InProcessCri, op: string, call: CallWith, when = anyArgs): Promise<void> {
  const hung = hang(cri, op, when);
  const cancel = new AbortController();
  const answer = call({ signal: cancel.signal });
  await hung.reached;
  cancel.abort();
  await assert.rejects(answer, rejectsWith(status.CANCELLED, /canceled by the client/));
  assert.equal(hung.record()?.aborted, true, `the hung ${op} was aborted`);
}

/** The gRPC code the client sees for each classified libpod failure (a reason missing here is a type error). */
export const EXPECTED_CODE: Readonly<Record<PodmanFailure, status>> = {
  "not-found": status.NOT_FOUND,
  "name-in-use": status.ALREADY_EXISTS,
  "in-use": status.FAILED_PRECONDITION,
  "not-running": status.FAILED_PRECONDITION,
  "address-in-use": status.FAILED_PRECONDITION,
  "port-privileged": status.FAILED_PRECONDITION,
  "subnet-overlap": status.FAILED_PRECONDITION,
  "no-mqueue": status.FAILED_PRECONDITION,
  "sysctl-refused": status.INVALID_ARGUMENT,
  "process-gone": status.UNAVAILABLE,
  "bad-request": status.INVALID_ARGUMENT,
  "invalid-reference": status.INVALID_ARGUMENT,
  "unauthenticated": status.UNAUTHENTICATED,
  "denied": status.PERMISSION_DENIED,
  "registry-unreachable": status.UNAVAILABLE,
  "unreachable": status.UNAVAILABLE,
  "timeout": status.DEADLINE_EXCEEDED,
  "canceled": status.CANCELLED,
  "unknown": status.UNKNOWN,
};

/**
 * One step per classified failure but those in `never`: `op` fails with it, `call` must answer its code in
 * {@link EXPECTED_CODE} having called `op`, and `unchanged` then checks that the fake's objects are as before.
 */
export async function stepEachFailure(
  t: Deno.TestContext,
  cri: InProcessCri,
  op: string,
  call: () => Promise<unknown>,
  { never = [], unchanged }: { never?: readonly PodmanFailure[] | undefined; unchanged: () => void },
): Promise<void> {
  for (const reason of (Object.keys(EXPECTED_CODE) as PodmanFailure[]).filter((r) => !never.includes(r))) {
    await t.step(`${reason} → ${status[EXPECTED_CODE[reason]]}`, async () => {
      cri.state.forgetInfo(); // Podman's info is cached: make each call ask
      const calls = cri.fake.callsOf(op).length;
      cri.fake.failNext(op, reason);
      await assert.rejects(call(), rejectsWith(EXPECTED_CODE[reason]));
      assert.ok(cri.fake.callsOf(op).length > calls, `${op} was called`);
      unchanged();
    });
  }
}

/** A Podman operation, the failure its next call on the sandbox meets, and what the client sees: a code, or success. */
export type SandboxFailure = [op: string, reason: PodmanFailure, outcome: status | "ok"];

/**
 * One step per case, each on a fresh settled sandbox: the next `op` on it fails with `reason` ("fake <reason>"), and
 * `call` must succeed for "ok", or answer the case's code with that message, after which `failed` checks what is left.
 */
export async function stepEachSandboxFailure(
  t: Deno.TestContext,
  cases: SandboxFailure[],
  call: (cri: InProcessCri, podSandboxId: string) => Promise<unknown>,
  failed: (cri: InProcessCri, podSandboxId: string) => void | Promise<void> = () => {},
): Promise<void> {
  for (const [op, reason, outcome] of cases) {
    await t.step(`${op} ${reason} → ${outcome === "ok" ? "success" : status[outcome]}`, async () => {
      await using cri = await startInProcessCri();
      const id = await settledSandbox(cri, "f");
      cri.fake.failNext(op, reason, `fake ${reason}`, ([arg]) => arg === id);
      if (outcome === "ok") {
        await call(cri, id);
      } else {
        await assert.rejects(call(cri, id), rejectsWith(outcome, new RegExp(`fake ${reason}`)));
        await failed(cri, id);
      }
    });
  }
}

/** Holds each pod read of the event feed (they carry no signal) after it read Podman, until its release is called. */
export function holdFeedReads(fake: FakePodman): Array<{ id: string; release: () => void }> {
  const held: Array<{ id: string; release: () => void }> = [];
  const inspect = fake.pods.inspect;
  fake.pods.inspect = async (id, opts) => {
    const answer = await inspect(id, opts);
    if (!opts?.signal) await new Promise<void>((release) => held.push({ id, release }));
    return answer;
  };
  return held;
}

/** The state `cache` lists for sandbox `id` (undefined when not listed). */
export async function cachedSandboxState(cache: RuntimeCache, id: string): Promise<PodSandboxState | undefined> {
  return (await cache.sandboxes()).find((s) => s.id === id)?.state;
}
