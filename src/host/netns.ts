/**
 * Network namespaces as files: Podman's rootless network namespace (the one pod IPs answer in) and which namespace a
 * process is in, told apart by the nsfs inode, as the kernel names them.
 * @module
 */

/** The file Podman 4.3 keeps its rootless network namespace at (`$XDG_RUNTIME_DIR/netns/rootless-netns-<hash>`). */
export async function rootlessNetnsPath(runtimeDir: string): Promise<string | undefined> {
  try {
    for await (const entry of Deno.readDir(`${runtimeDir}/netns`)) {
      if (entry.name.startsWith("rootless-netns-")) return `${runtimeDir}/netns/${entry.name}`;
    }
  } catch {
    // no netns directory: Podman has made no network namespace yet
  }
  return undefined;
}

/** The inode of the network namespace of `pid` ("self" for ours); undefined when it cannot be read (gone, EPERM). */
export function netnsInode(pid: number | "self"): number | undefined {
  try {
    const link = Deno.readLinkSync(`/proc/${pid}/ns/net`); // "net:[4026532179]"
    const m = /^net:\[(\d+)\]$/.exec(link);
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** The inode of the namespace a bind-mounted namespace file holds; undefined when absent or not a namespace file. */
export function netnsFileInode(path: string): number | undefined {
  try {
    return Deno.statSync(path).ino ?? undefined;
  } catch {
    return undefined;
  }
}
