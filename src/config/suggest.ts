/**
 * "Did you mean …?" for misspelt flags, commands and environment variables: the closest known name, if one is close.
 * @module
 */

/**
 * Returns the known name closest to `word`, or undefined when none is close enough to be a plausible typo.
 * Close means a small edit distance (a swap of two neighbours counts as one edit), or `word` being the start or the
 * last `_`/`-`-separated part of exactly one known name (`--log` → `--log-level`, `SOCKET` → `PODMAN_SOCKET`).
 */
export function closestName(word: string, known: readonly string[]): string | undefined {
  const w = word.toLowerCase();
  if (w === "") return undefined;
  // A third of the word may be wrong, at most 3 edits: "serv" → "serve", never "start" → "serve".
  const limit = Math.min(3, Math.max(1, Math.floor(w.length / 3)));
  let best: string | undefined;
  let bestDistance = limit + 1;
  for (const name of known) {
    const d = editDistance(w, name.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [name, d];
  }
  if (best !== undefined) return best;
  if (w.length < 3) return undefined;
  const partial = known.filter((name) => {
    const n = name.toLowerCase();
    return n.startsWith(w) || n.endsWith(`_${w}`) || n.endsWith(`-${w}`);
  });
  return partial.length === 1 ? partial[0] : undefined;
}

/** Optimal string alignment distance: insertions, deletions, substitutions and swaps of neighbours cost one each. */
export function editDistance(a: string, b: string): number {
  // Rows of the dynamic-programming table: two back, one back, current.
  let prev2: number[] = [];
  let prev: number[] = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur: number[] = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, prev2[j - 2]! + 1);
      cur.push(d);
    }
    [prev2, prev] = [prev, cur];
  }
  return prev[b.length]!;
}
