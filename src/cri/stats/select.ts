/**
 * Which containers and sandboxes a stats call is about: from the event-fed List cache (no Podman call while the
 * event stream is up), by exact ID or unique ID prefix, or by a stats filter.
 * @module
 */
import {
  ContainerState,
  type ContainerStatsFilter,
  PodSandboxState,
  type PodSandboxStatsFilter,
} from "../../gen/runtime/v1/api_pb.ts";
import { CriError } from "../../errors.ts";
import { matchId } from "../../translate/ids.ts";
import type { CriContainer } from "../../translate/container.ts";
import type { CriPodSandbox } from "../../translate/sandbox.ts";

/** The one item whose ID is `id` or starts with it; NOT_FOUND naming it otherwise (an ambiguous prefix too). */
export function selectOne<T extends { id?: string }>(items: readonly T[], id: string, field: string, what: string): T {
  if (!id) throw new CriError("InvalidArgument", `${field} must not be empty`);
  const full = matchId(items.map((i) => i.id ?? ""), id);
  const found = full === undefined ? undefined : items.find((i) => i.id === full);
  if (!found) throw new CriError("NotFound", `${what} "${id}" not found`);
  return found;
}

/**
 * The containers a ListContainerStats filter selects (ID and sandbox ID by prefix, labels exactly). Exited
 * containers are left out, as containerd and CRI-O do: they use nothing, and their counters would read as zero.
 */
export function selectContainers(
  all: readonly CriContainer[],
  filter: ContainerStatsFilter | undefined,
): CriContainer[] {
  return all.filter((c) => {
    if (c.state === ContainerState.CONTAINER_EXITED || c.state === ContainerState.CONTAINER_UNKNOWN) return false;
    if (!filter) return true;
    if (filter.id && !(c.id ?? "").startsWith(filter.id)) return false;
    if (filter.podSandboxId && !(c.podSandboxId ?? "").startsWith(filter.podSandboxId)) return false;
    return Object.entries(filter.labelSelector).every(([k, v]) => c.labels?.[k] === v);
  });
}

/** The ready sandboxes a ListPodSandboxStats filter selects (ID by prefix, labels exactly). */
export function selectSandboxes(
  all: readonly CriPodSandbox[],
  filter: PodSandboxStatsFilter | undefined,
): CriPodSandbox[] {
  return all.filter((s) => {
    if (s.state !== PodSandboxState.SANDBOX_READY) return false;
    if (!filter) return true;
    if (filter.id && !(s.id ?? "").startsWith(filter.id)) return false;
    return Object.entries(filter.labelSelector).every(([k, v]) => s.labels?.[k] === v);
  });
}
