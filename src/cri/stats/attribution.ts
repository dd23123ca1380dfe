/**
 * Which processes belong to which container, from the process table alone (pure). Every container process has a
 * conmon above it: the container's own (conmon is a subreaper: the main process and every orphan of the container
 * become its children when they are not in a PID namespace of their own) and one per exec session. A conmon names
 * the container it monitors on its command line. Each process then belongs to the container of the nearest conmon
 * above it; conmons themselves belong to none. This holds for every PID namespace mode: a private one, the pod's
 * shared one and the host's.
 * @module
 */

/** The part of a process the attribution needs. */
export interface ProcessNode {
  ppid: number;
}

/**
 * Maps each pid below a known conmon to that conmon's container. `conmons` maps conmon pids to container IDs;
 * `wanted` limits the result to those containers (others' processes are skipped).
 */
export function attributeProcesses(
  processes: ReadonlyMap<number, ProcessNode>,
  conmons: ReadonlyMap<number, string>,
  wanted: ReadonlySet<string>,
): Map<string, number[]> {
  const owner = new Map<number, string | null>(); // memo: pid → container, or null for none
  const find = (pid: number): string | null => {
    const path: number[] = [];
    let cur = pid;
    let found: string | null = null;
    // Walks up to the first conmon (or a pid already decided); bounded by the table's size against a ppid loop.
    for (let steps = 0; steps <= processes.size; steps++) {
      const memo = owner.get(cur);
      if (memo !== undefined) {
        found = memo;
        break;
      }
      const parent = processes.get(cur)?.ppid;
      if (parent === undefined || parent <= 0) break;
      path.push(cur);
      const byConmon = conmons.get(parent);
      if (byConmon !== undefined) {
        found = byConmon;
        break;
      }
      cur = parent;
    }
    for (const p of path) owner.set(p, found);
    return found;
  };
  const out = new Map<string, number[]>();
  for (const id of wanted) out.set(id, []);
  for (const pid of processes.keys()) {
    if (conmons.has(pid)) continue;
    const id = find(pid);
    if (id !== null && wanted.has(id)) out.get(id)!.push(pid);
  }
  return out;
}
