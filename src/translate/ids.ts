/**
 * How a CRI ID names an object: the full ID, or a prefix of exactly one ID (as Podman and crictl accept).
 * @module
 */

/** The one ID among `ids` that `id` is, or is a prefix of; undefined for none, or for a prefix of several. */
export function matchId(ids: Iterable<string>, id: string): string | undefined {
  let found: string | undefined;
  for (const candidate of ids) {
    if (candidate === id) return candidate;
    if (!candidate.startsWith(id)) continue;
    if (found !== undefined) found = "";
    else found = candidate;
  }
  return found || undefined;
}
