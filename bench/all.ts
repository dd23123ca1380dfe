/**
 * The whole benchmark set in one run (`deno task bench`): reads at 110 pods / 330 containers / 50 images
 * (bench/reads.ts), the pod + container lifecycle with its per-RPC breakdown (bench/lifecycle.ts), container
 * create/start/exec/stop/remove and ListContainers at 50 containers (bench/containers.ts), each script next to
 * the direct libpod requests measured in the same run. Prints one Markdown table of every operation, then the
 * breakdown and the RSS lines. Each part runs as its own process (its own Podman service and cri-podman), one after
 * the other, so their memory and CPU do not mix.
 * Run as the unprivileged user: `deno task bench [--quick]` (--quick: 20 pods, 5 lifecycle rounds).
 */
const quick = Deno.args.includes("--quick");
const parts: { section: string; script: string; args: string[] }[] = [
  { section: "reads", script: "reads.ts", args: quick ? ["20", "3", "10"] : ["110", "3", "50"] },
  { section: "lifecycle", script: "lifecycle.ts", args: [quick ? "5" : "30"] },
  { section: "containers", script: "containers.ts", args: quick ? ["5", "10"] : ["20", "50"] },
];

const rows: string[] = [];
const extras: string[] = [];
for (const part of parts) {
  const script = new URL(part.script, import.meta.url).pathname;
  console.error(`running ${part.script} ${part.args.join(" ")} …`);
  const started = performance.now();
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", script, ...part.args],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  if (!out.success) {
    console.log(text);
    throw new Error(`${part.script} failed with exit code ${out.code}`);
  }
  console.error(`  done in ${((performance.now() - started) / 1000).toFixed(0)} s`);
  let inMainTable = false;
  for (const line of text.split("\n")) {
    const cells = line.split("|").slice(1, -1).map((c) => c.trim());
    if (cells[0] === "operation") {
      inMainTable = true;
      continue;
    }
    if (inMainTable && cells[0]?.startsWith("---")) continue;
    if (inMainTable && cells.length === 5 && /^\d+$/.test(cells[1] ?? "")) {
      rows.push(`| ${part.section} | ${cells.join(" | ")} |`);
      continue;
    }
    inMainTable = false;
    extras.push(line);
  }
}
console.log("| part | operation | n | p50 ms | p99 ms | mean ms |");
console.log("|---|---|---:|---:|---:|---:|");
for (const row of rows) console.log(row);
console.log("");
console.log(extras.join("\n").replace(/\n{3,}/g, "\n\n").trim());
