/**
 * Checks every import in src/ against the layer arrows of ARCHITECTURE.md and the npm package ownership table:
 * translate/ is pure, podman/ knows no CRI, cri/ knows no transport, host/ touches only the host, doctor/ knows no CRI,
 * and a transport or HTTP client never leaks out of the one layer that owns it. `deno task check` runs it as a CLI;
 * `checkImports()` is the pure rule set that tools/check_layers_test.ts feeds synthetic trees.
 * @module
 */

/** Stands for "any module in src/" in the layer table. */
const ANY = "*";

/** Stands for "any *_test.ts file in src/" in the package table. */
const TEST_FILES = "*_test.ts";

/**
 * Which src/ folders and files each layer may import besides itself, keyed by top-level folder or module. A folder or
 * top-level module missing here is reported, so a new layer cannot slip in without its arrows. Test files are exempt:
 * a test may reach into any layer to drive or observe its subject.
 */
const LAYERS: Readonly<Record<string, readonly string[]>> = {
  // The only place that builds concrete objects, so it wires every layer together.
  "app.ts": [ANY],
  // Leaves that everyone imports: an import back into src/ would be a cycle waiting to happen.
  "errors.ts": [],
  "version.ts": [],
  translate: ["gen", "errors.ts", "podman/types.ts"],
  podman: ["errors.ts", "observability", "gen", "host"],
  host: ["errors.ts"],
  // cri/ asks the streaming server for URLs (Exec, Attach, PortForward) through the interface it exports.
  cri: [
    "translate",
    "podman",
    "host",
    "errors.ts",
    "config",
    "observability",
    "gen",
    "version.ts",
    "streaming/urls.ts",
  ],
  // The exec/attach/port-forward server: bridges client streams to Podman's exec and attach and to pods' ports.
  streaming: ["podman", "host", "errors.ts", "config", "observability", "translate"],
  grpc: ["cri/context.ts", "cri/handler_types.ts", "cri/encode_once.ts", "errors.ts", "gen", "observability"],
  // The pure reference grammar, one definition for pods.infra_image checks and for image calls.
  config: ["errors.ts", "translate/image_ref.ts"],
  // An edge like mod.ts: it reads the host and asks the socket itself; from podman/ only the pure version rule.
  doctor: ["host", "config", "errors.ts", "observability", "podman/system.ts", "podman/types.ts"],
  observability: [],
  gen: [],
  // `cri-podman node`: the node's keeper pod and holder process, made with the podman command; knows no CRI.
  node: ["host", "config", "errors.ts", "translate/labels.ts", "translate/signals.ts"],
};

/**
 * Which src/ folders (or `TEST_FILES`) may import each npm package; any other module importing it, app.ts included, is
 * a problem. A package missing here is reported too, so a new dependency needs an owner before it can spread.
 */
const PACKAGE_OWNERS: Readonly<Record<string, readonly string[]>> = {
  // The transport: the rest of the code sees handlers and CriError, never a grpc-js type. Tests assert on the status
  // codes a client sees, which are grpc-js's enum.
  "@grpc/grpc-js": ["grpc", TEST_FILES],
  // The HTTP client of the libpod socket: everything above podman/ sees the typed port.
  undici: ["podman"],
  // The exec/attach/port-forward HTTP server.
  hono: ["streaming"],
  "@hono/node-server": ["streaming"],
  // WebSocket framing (RFC 6455) for the v4/v5.channel.k8s.io subprotocols: a maintained library beats our own.
  ws: ["streaming"],
  "@types/ws": ["streaming"],
  // The CRI message runtime is the CRI's data model, not a transport, so every layer that speaks CRI uses it, and tests
  // build messages with it; podman/, host/, config/, doctor/ and observability/ know no CRI.
  "@bufbuild/protobuf": ["gen", "grpc", "cri", "translate", TEST_FILES],
  // cri-podman's own config and the host's containers.conf (read by the doctor) are TOML.
  "smol-toml": ["config", "doctor"],
  // Schema validation of cri-podman's config.
  valibot: ["config"],
  // cri-podman's own metrics registry and Prometheus text rendering; every other layer reports to the Metrics sink.
  "prom-client": ["observability"],
};

/**
 * Problems the tree has today, each with who removes it. The CLI passes while the problems equal this list exactly,
 * and fails as soon as one is fixed, so the list only shrinks; when it is empty, any problem fails `deno task check`.
 */
export const KNOWN_PROBLEMS: readonly string[] = [];

/** One module of the tree: its path from the repository root (`src/cri/image/pull_image.ts`) and its source text. */
export interface SourceFile {
  /** Path from the repository root, with `/` separators. */
  path: string;
  /** The module's source text. */
  text: string;
}

/** One module specifier found in a source text, and the syntax that named it. */
export interface ImportRef {
  /** The specifier exactly as written between the quotes. */
  specifier: string;
  /** `import … from`, `import "x"`, `export … from` or `import("x")` (type positions included). */
  kind: "import" | "side-effect" | "export" | "dynamic";
}

/** Returns every rule violation in `files` (paths outside src/ are ignored), one line each, sorted by file. */
export function checkImports(files: readonly SourceFile[]): string[] {
  const problems: string[] = [];
  for (const file of [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))) {
    if (!file.path.startsWith("src/")) continue;
    const rel = file.path.slice("src/".length);
    const parts = rel.split("/");
    const layer = parts[0]!;
    const isTest = /[._]test\.[cm]?[jt]sx?$/.test(parts.at(-1)!);
    if (parts.at(-1)!.startsWith("_")) problems.push(`${file.path}: test helper in src/: move it under tests/`);
    const arrows = LAYERS[layer];
    if (!arrows && !isTest) {
      problems.push(
        `${file.path}: ${layerName(layer, parts)} has no entry in LAYERS (tools/check_layers.ts): add its arrows`,
      );
    }
    for (const { specifier } of parseImports(file.text)) {
      const problem = /^\.{0,2}\//.test(specifier)
        ? pathProblem(file.path, specifier, layerName(layer, parts), isTest, arrows)
        : packageProblem(rel, specifier, isTest);
      if (problem) problems.push(`${file.path} imports ${problem}`);
    }
  }
  return [...new Set(problems)];
}

/** The folder (`cri/`) or top-level module (`app.ts`) a src/ path belongs to, as messages name it. */
function layerName(layer: string, parts: readonly string[]): string {
  return parts.length > 1 ? `${layer}/` : layer;
}

/** The rule a relative import breaks, prefixed with the resolved target, or undefined. */
function pathProblem(
  from: string,
  specifier: string,
  layer: string,
  isTest: boolean,
  arrows: readonly string[] | undefined,
): string | undefined {
  // Resolved under a fake root, so the target reads as a path from the repository; one that climbs above the
  // repository stays as written (and is outside src/).
  const resolved = new URL(specifier, `file:///repo/${from}`).pathname;
  const target = resolved.startsWith("/repo/") ? decodeURIComponent(resolved.slice("/repo/".length)) : specifier;
  if (target.startsWith("tests/")) {
    return isTest ? undefined : `${target}: production code in src/ must not import tests/ (only *_test.ts files may)`;
  }
  if (!target.startsWith("src/")) return `${target}: src/ may import only src/ (and, from *_test.ts files, tests/)`;
  if (isTest || !arrows) return undefined; // tests may use any layer; an unknown layer is already reported
  const to = target.slice("src/".length);
  const toParts = to.split("/");
  if (layerName(toParts[0]!, toParts) === layer) return undefined;
  if (arrows.some((a) => a === ANY || to === a || to.startsWith(`${a}/`))) return undefined;
  const allowed = arrows.length === 0 ? "nothing from src/" : `only ${arrows.map(describeEntry).join(", ")}`;
  return `${target}: ${layer} may import ${allowed} (layer arrows, ARCHITECTURE.md)`;
}

/** The rule a package import breaks, prefixed with the quoted specifier, or undefined. */
function packageProblem(rel: string, specifier: string, isTest: boolean): string | undefined {
  if (specifier.startsWith("node:")) return undefined; // built-ins carry no layer
  if (/^[a-z][a-z0-9+.-]*:/i.test(specifier) && !/^(?:npm|jsr):/.test(specifier)) {
    return `"${specifier}": URL imports are not allowed (map the package in deno.json's imports)`;
  }
  const name = packageName(specifier);
  const owners = PACKAGE_OWNERS[name];
  if (!owners) return `"${specifier}": ${name} has no owner in PACKAGE_OWNERS (tools/check_layers.ts): add it`;
  if (owners.some((o) => (o === TEST_FILES ? isTest : rel === o || rel.startsWith(`${o}/`)))) return undefined;
  const who = owners.map((o) => (o === TEST_FILES ? `${TEST_FILES} files` : `src/${describeEntry(o)}`));
  const list = who.length > 1 ? `${who.slice(0, -1).join(", ")} and ${who.at(-1)}` : who[0];
  return `"${specifier}": only ${list} may import ${name} (package ownership)`;
}

/** A table entry as messages show it: folders end in `/`, modules keep their `.ts`. */
function describeEntry(entry: string): string {
  return entry.endsWith(".ts") ? entry : `${entry}/`;
}

/** The npm package a bare, `npm:` or `jsr:` specifier names: `npm:@bufbuild/protobuf@2/wire` → `@bufbuild/protobuf`. */
function packageName(specifier: string): string {
  const bare = specifier.replace(/^(?:npm|jsr):\/?/, "");
  const parts = bare.split("/");
  const name = bare.startsWith("@") ? `${parts[0]}/${parts[1] ?? ""}` : parts[0]!;
  // A version follows the name's last `@` (the first one of a scoped name is part of it).
  const at = name.indexOf("@", 1);
  return at < 0 ? name : name.slice(0, at);
}

/** Lists the module specifiers of a JavaScript or TypeScript text, ignoring comments, strings and regexes. */
export function parseImports(text: string): ImportRef[] {
  const tokens = tokenize(text);
  const refs: ImportRef[] = [];
  for (let k = 0; k < tokens.length; k++) {
    const t = tokens[k]!;
    if (t.kind !== "name" || (t.value !== "import" && t.value !== "export")) continue;
    if (isPunct(tokens[k - 1], ".")) continue; // a property such as `import.meta` is handled below; `x.import` is not ours
    const next = tokens[k + 1];
    if (t.value === "import" && isPunct(next, "(")) {
      // Only a literal is statically known; `import(x)` and `import("a" + b)` are left alone.
      const arg = tokens[k + 2];
      if (arg?.kind === "string" && (isPunct(tokens[k + 3], ")") || isPunct(tokens[k + 3], ","))) {
        refs.push({ specifier: arg.value, kind: "dynamic" });
      }
      continue;
    }
    if (t.value === "import" && next?.kind === "string") {
      refs.push({ specifier: next.value, kind: "side-effect" });
      continue;
    }
    // An import or export clause holds only names, braces, commas and `*` (plus string names inside braces) before
    // `from "x"`; anything else (`export const`, `import x = …`, `{ import: 1 }`) ends the search.
    let depth = 0;
    for (let j = k + 1; j < tokens.length; j++) {
      const u = tokens[j]!;
      if (u.kind === "name" && u.value === "from" && tokens[j + 1]?.kind === "string" && depth === 0) {
        refs.push({ specifier: tokens[j + 1]!.value, kind: t.value === "import" ? "import" : "export" });
        break;
      }
      if (isPunct(u, "{")) depth++;
      else if (isPunct(u, "}")) {
        // A closed list is followed by `from` in a clause, by anything else in `export enum E { … }` and the like.
        if (--depth !== 0 || !(tokens[j + 1]?.kind === "name" && tokens[j + 1]!.value === "from")) break;
      } else if (!(u.kind === "name" || isPunct(u, ",") || isPunct(u, "*") || (u.kind === "string" && depth > 0))) {
        break;
      }
    }
  }
  return refs;
}

/** A lexical token, as much of one as finding imports needs. */
interface Token {
  /** `string` is a quoted string or a template without substitutions; `other` is a number, regex or template part. */
  kind: "name" | "string" | "punct" | "other";
  /** The name, the string's contents, or the punctuation character. */
  value: string;
}

/** True if `token` is the punctuation `value`. */
function isPunct(token: Token | undefined, value: string): boolean {
  return token?.kind === "punct" && token.value === value;
}

/** Keywords after which a `/` starts a regex rather than a division. */
const REGEX_AFTER = new Set([
  "return",
  "typeof",
  "instanceof",
  "in",
  "of",
  "new",
  "delete",
  "void",
  "throw",
  "case",
  "do",
  "else",
  "yield",
  "await",
]);

/**
 * Splits `text` into names, strings and punctuation, dropping comments and whitespace. It tracks template literals
 * (`${…}` nests code) and regex literals, so a quote or `//` inside either cannot start a fake string or comment.
 */
function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  // Open braces: "{" for code, "${" for a template substitution whose "}" resumes the template.
  const braces: string[] = [];
  let i = text.startsWith("#!") ? text.indexOf("\n") : 0;
  if (i < 0) return tokens;

  /** Reads template characters from `start` to the closing backtick or the next `${`; returns the index after it. */
  const readTemplate = (start: number, fromBacktick: boolean): number => {
    let j = start;
    while (j < text.length) {
      const ch = text[j]!;
      if (ch === "\\") j += 2;
      else if (ch === "`") {
        const raw = text.slice(start, j);
        tokens.push(fromBacktick ? { kind: "string", value: unescape(raw) } : { kind: "other", value: raw });
        return j + 1;
      } else if (ch === "$" && text[j + 1] === "{") {
        braces.push("${");
        tokens.push({ kind: "other", value: text.slice(start, j) });
        return j + 2;
      } else j++;
    }
    return j;
  };

  while (i < text.length) {
    const c = text[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (c === "/" && text[i + 1] === "/") {
      const end = text.indexOf("\n", i);
      i = end < 0 ? text.length : end;
    } else if (c === "/" && text[i + 1] === "*") {
      const end = text.indexOf("*/", i + 2);
      i = end < 0 ? text.length : end + 2;
    } else if (c === '"' || c === "'") {
      let j = i + 1;
      while (j < text.length && text[j] !== c && text[j] !== "\n") j += text[j] === "\\" ? 2 : 1;
      tokens.push({ kind: "string", value: unescape(text.slice(i + 1, j)) });
      i = j + 1;
    } else if (c === "`") {
      i = readTemplate(i + 1, true);
    } else if (c === "}" && braces.at(-1) === "${") {
      braces.pop();
      i = readTemplate(i + 1, false);
    } else if (c === "/" && regexMayStart(tokens.at(-1))) {
      const end = regexEnd(text, i);
      if (end < 0) {
        tokens.push({ kind: "punct", value: c });
        i++;
      } else {
        tokens.push({ kind: "other", value: text.slice(i, end) });
        i = end;
      }
    } else if (/[\p{ID_Start}$_]/u.test(c)) {
      let j = i + 1;
      while (j < text.length && /[\p{ID_Continue}$\u200c\u200d]/u.test(text[j]!)) j++;
      tokens.push({ kind: "name", value: text.slice(i, j) });
      i = j;
    } else if (/[0-9]/.test(c)) {
      let j = i + 1;
      while (j < text.length && /[0-9a-zA-Z_.]/.test(text[j]!)) j++;
      tokens.push({ kind: "other", value: text.slice(i, j) });
      i = j;
    } else {
      if (c === "{") braces.push("{");
      else if (c === "}") braces.pop();
      tokens.push({ kind: "punct", value: c });
      i++;
    }
  }
  return tokens;
}

/** True if a `/` after `prev` starts a regex: after an operand (name, literal, `)`, `]`, `}`) it divides instead. */
function regexMayStart(prev: Token | undefined): boolean {
  if (!prev) return true;
  if (prev.kind === "name") return REGEX_AFTER.has(prev.value);
  if (prev.kind === "punct") return !")]}".includes(prev.value);
  return false;
}

/** The index after the regex literal starting at `start` (flags included), or -1 if the line ends first. */
function regexEnd(text: string, start: number): number {
  let inClass = false;
  for (let j = start + 1; j < text.length; j++) {
    const ch = text[j]!;
    if (ch === "\n") return -1;
    if (ch === "\\") j++;
    else if (ch === "[") inClass = true;
    else if (ch === "]") inClass = false;
    else if (ch === "/" && !inClass) {
      let k = j + 1;
      while (k < text.length && /[a-z]/i.test(text[k]!)) k++;
      return k;
    }
  }
  return -1;
}

/** Drops the backslash of simple escapes; specifiers almost never hold one, so `\u…` forms are not decoded. */
function unescape(raw: string): string {
  return raw.replace(/\\(.)/gs, "$1");
}

/** Reads every script module under `root`'s src/ folder, with paths from `root`, sorted. */
export async function readSourceTree(root: URL): Promise<SourceFile[]> {
  const files: SourceFile[] = [];
  const walk = async (dir: string): Promise<void> => {
    for await (const entry of Deno.readDir(new URL(dir, root))) {
      const path = `${dir}${entry.name}`;
      if (entry.isDirectory) await walk(`${path}/`);
      else if (/\.[cm]?[jt]sx?$/.test(entry.name)) {
        files.push({ path, text: await Deno.readTextFile(new URL(path, root)) });
      }
    }
  };
  await walk("src/");
  return files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

if (import.meta.main) {
  // Known problems are warnings, so CI stays green while they are being fixed; a new one, or a fixed one still listed,
  // fails.
  const problems = checkImports(await readSourceTree(new URL("../", import.meta.url)));
  const fresh = problems.filter((p) => !KNOWN_PROBLEMS.includes(p));
  const fixed = KNOWN_PROBLEMS.filter((p) => !problems.includes(p));
  const known = problems.filter((p) => KNOWN_PROBLEMS.includes(p));
  for (const p of known) console.warn(`warning (known, listed in KNOWN_PROBLEMS): ${p}`);
  if (fresh.length > 0) console.error(`Layer violations (see ARCHITECTURE.md):\n  ${fresh.join("\n  ")}`);
  if (fixed.length > 0) {
    console.error(`Fixed: remove from KNOWN_PROBLEMS in tools/check_layers.ts:\n  ${fixed.join("\n  ")}`);
  }
  if (fresh.length > 0 || fixed.length > 0) Deno.exit(1);
  console.log(known.length > 0 ? `layers: ok apart from ${known.length} known problem(s)` : "layers: ok");
}
