/**
 * Fails when a module in src/ imports against the layer arrows of ARCHITECTURE.md (`deno task check` runs it):
 * translate/ is pure, podman/ knows no CRI, cri/ knows no transport, host/ touches only the host, doctor/ knows no
 * CRI.
 * @module
 */

/** Which src/ folders each layer may import (besides itself, npm packages and node: built-ins). */
const ALLOWED: Record<string, readonly string[]> = {
  translate: ["gen", "errors.ts", "podman/types.ts"],
  podman: ["errors.ts", "observability", "gen", "host"],
  host: ["errors.ts"],
  cri: ["translate", "podman", "host", "errors.ts", "config", "observability", "gen", "version.ts"],
  grpc: ["cri/context.ts", "cri/handler_types.ts", "errors.ts", "gen", "observability"],
  // The pure reference grammar, one definition for pods.infra_image checks and for image calls.
  config: ["errors.ts", "translate/image_ref.ts"],
  // An edge like mod.ts: it reads the host and asks the socket itself; from podman/ only the pure version rule.
  doctor: ["host", "config", "errors.ts", "observability", "podman/system.ts", "podman/types.ts"],
  observability: [],
  gen: [],
};

const root = new URL("../src/", import.meta.url);
const problems: string[] = [];
for await (const file of walk(root.pathname)) {
  const rel = file.slice(root.pathname.length);
  const layer = rel.split("/")[0]!;
  const allowed = ALLOWED[layer.replace(/\.ts$/, "")];
  if (!allowed) continue; // top-level modules (app.ts, errors.ts, version.ts) wire or are leaves
  const text = await Deno.readTextFile(file);
  for (const m of text.matchAll(/^\s*(?:import|export)(?:[^"';]*?\sfrom)?\s*["'](\.[^"']+)["']/gm)) {
    const target = new URL(m[1]!, `file://${file}`).pathname;
    if (!target.startsWith(root.pathname)) continue;
    const to = target.slice(root.pathname.length);
    if (to.split("/")[0] === layer) continue;
    if (!allowed.some((a) => to === a || to.startsWith(`${a}/`))) problems.push(`src/${rel} imports src/${to}`);
  }
}
if (problems.length > 0) {
  console.error(`Layer violations (see ARCHITECTURE.md):\n  ${problems.join("\n  ")}`);
  Deno.exit(1);
}
console.log("layers: ok");

async function* walk(dir: string): AsyncGenerator<string> {
  for await (const entry of Deno.readDir(dir)) {
    const path = `${dir.replace(/\/$/, "")}/${entry.name}`;
    if (entry.isDirectory) yield* walk(path);
    else if (entry.name.endsWith(".ts") && !entry.name.endsWith("_test.ts") && !entry.name.startsWith("_")) yield path;
  }
}
