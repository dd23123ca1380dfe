/**
 * The node's end of the streaming server. kubelet in the node is given URLs on the node's 127.0.0.1, which is not
 * ours: cri-podman runs outside the node (see in_node.ts for why). So the streaming server listens on a unix socket,
 * which both sides see, and a relay inside the node (entered with nsenter through the holder) listens on TCP there and
 * carries each connection to that socket, byte for byte (TLS, SPDY and WebSocket pass through untouched).
 *
 * The relay is {@linkcode runStreamRelay}, run as a program of its own (src/host/self_program.ts); it prints its port,
 * and ends when its standard input closes, that is when cri-podman ends, whichever way.
 * @module
 */
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { StartupError } from "../errors.ts";
import { dataModuleUrl, mainModuleSource, type SelfProgram, selfProgramArgv } from "../host/self_program.ts";
import { nodeEnterArgv } from "./enter.ts";

/** The hidden command of a compiled cri-podman that runs the relay (dispatched in mod.ts). */
export const STREAM_RELAY_COMMAND = "__stream-relay";

/**
 * The relay: `args` = [address, port, unix socket path]. Listens on address:port (0: any free port), prints the port
 * it got on a line of its own, and carries every connection to the socket. Self-contained: its source runs alone.
 */
export async function runStreamRelay(args: readonly string[]): Promise<number> {
  const [hostname, portText, path] = args;
  if (!hostname || portText === undefined || !path) {
    console.error("usage: stream relay ADDRESS PORT SOCKET");
    return 2;
  }
  const listener = Deno.listen({ hostname, port: Number(portText) });
  const addr = listener.addr as Deno.NetAddr;
  await Deno.stdout.write(new TextEncoder().encode(`${addr.port}\n`));
  // Our parent holds our stdin: its end (exit, crash, SIGKILL) is ours.
  (async () => {
    const buffer = new Uint8Array(256);
    try {
      while ((await Deno.stdin.read(buffer)) !== null) { /* nothing is sent */ }
    } catch { /* closed */ }
    Deno.exit(0);
  })();
  const pump = async (from: Deno.Conn, to: Deno.Conn, abort: () => void) => {
    const buffer = new Uint8Array(64 * 1024);
    try {
      for (;;) {
        const n = await from.read(buffer);
        if (n === null) break;
        for (let offset = 0; offset < n;) offset += await to.write(buffer.subarray(offset, n));
      }
      await to.closeWrite();
    } catch {
      abort(); // a reset on one side ends the other
    }
  };
  for await (const conn of listener) {
    (async () => {
      let upstream: Deno.Conn;
      try {
        upstream = await Deno.connect({ transport: "unix", path });
      } catch (err) {
        console.error(`cannot reach the streaming server at ${path}: ${(err as Error).message}`);
        conn.close();
        return;
      }
      const close = () => {
        for (const c of [conn, upstream]) {
          try {
            c.close();
          } catch { /* closed */ }
        }
      };
      await Promise.all([pump(conn, upstream, close), pump(upstream, conn, close)]);
      close();
    })();
  }
  return 0;
}

/** The relay as a program: no permission but its listening address and the socket. */
export function streamRelayProgram(address: string, socketPath: string): SelfProgram {
  return {
    command: STREAM_RELAY_COMMAND,
    moduleUrl: () => relayUrl ??= dataModuleUrl(mainModuleSource(runStreamRelay)),
    permissions: [
      `--allow-net=${address.includes(":") ? `[${address}]` : address},unix:${socketPath}`,
      `--allow-read=${socketPath}`,
      `--allow-write=${socketPath}`,
    ],
  };
}

let relayUrl: string | undefined;

/** A running relay. */
export interface StreamRelay {
  /** The port it listens on, in the node. */
  port: number;
  /** Ends it (closing its stdin) and waits for its exit. */
  stop(): Promise<void>;
}

/** Starts the relay in the holder's namespaces; resolves once it listens. */
export function startStreamRelay(opts: {
  holder: { pid: number; mountPid: number };
  address: string;
  port: number;
  socketPath: string;
  onExit: (detail: string) => void;
  /** Where the relay's complaints go (one per line), once it listens. */
  onMessage: (line: string) => void;
  /** How the relay's command enters the node (default: nsenter through the holder; tests run it where they are). */
  enter?: (argv: string[]) => string[];
}): Promise<StreamRelay> {
  const program = streamRelayProgram(opts.address, opts.socketPath);
  const relayArgv = selfProgramArgv(program, [opts.address, String(opts.port), opts.socketPath]);
  const argv = (opts.enter ?? ((a) => nodeEnterArgv(opts.holder, "/", a)))(relayArgv);
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ["pipe", "pipe", "pipe"] });
  let stderr = "";
  let listening = false;
  // Before it listens, what it writes is kept for the start-up error; after, each line goes to the log.
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => {
    if (!listening) {
      if (stderr.length < 4096) stderr += chunk;
      return;
    }
    for (const line of chunk.split("\n")) if (line.trim()) opts.onMessage(line.trim());
  });
  let stopping = false;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.once("line", (line) => {
      const port = Number(line.trim());
      if (!Number.isInteger(port) || port <= 0) {
        reject(new StartupError(`The node's stream relay printed ${JSON.stringify(line)}, not a port`));
        child.kill("SIGKILL");
        return;
      }
      listening = true;
      child.once("exit", (code, signal) => {
        if (!stopping) opts.onExit(`exit ${code ?? signal}: ${stderr.trim().slice(-500)}`);
      });
      resolve({
        port,
        stop: async () => {
          stopping = true;
          child.stdin!.end();
          const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
          await exited;
          clearTimeout(timer);
        },
      });
    });
    child.once("error", (err) => reject(new StartupError(`Cannot start the node's stream relay: ${err.message}`)));
    child.once("exit", (code, signal) => {
      reject(
        new StartupError(
          `The node's stream relay ended before it listened on ${opts.address}:${opts.port} (${code ?? signal}): ` +
            stderr.trim().slice(-500),
        ),
      );
    });
  });
}
