/**
 * The scrape endpoint: `GET /metrics` (and HEAD) on a TCP address of its own, anything else 404. Plain `node:http`:
 * one route needs no framework, and it keeps the metrics apart from the streaming server (its port, its TLS, its
 * session cap). Not `Deno.serve`: @hono/node-server (the streaming server) replaces the global `Response`, and
 * `Deno.serve` then refuses every answer ("must be a Response constructed via the Response constructor in this realm").
 * @module
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

/** What the server renders on each scrape. */
export interface MetricsSource {
  /** `Content-Type` of the rendered text. */
  readonly contentType: string;
  /** The metrics, rendered for one scrape. */
  render(): Promise<string>;
}

/** A running metrics server. */
export interface MetricsServer {
  /** `http://127.0.0.1:PORT/metrics` (the port chosen when 0 was asked for). */
  readonly url: string;
  /** Stops accepting and closes open connections. */
  stop(): Promise<void>;
}

/**
 * Serves `source` on `hostname:port` and resolves once it listens; rejects (with the socket's error, e.g.
 * EADDRINUSE) when the address cannot be had.
 */
export async function startMetricsServer(
  opts: { hostname: string; port: number; source: MetricsSource },
): Promise<MetricsServer> {
  const { source } = opts;
  const server = createServer((req, res) => {
    const pathname = new URL(req.url ?? "/", "http://metrics").pathname;
    const answer = (status: number, body: string, headers: Record<string, string> = {}) => {
      res.writeHead(status, { "content-type": "text/plain; charset=utf-8", ...headers });
      res.end(req.method === "HEAD" ? undefined : body);
    };
    if (pathname !== "/metrics") return answer(404, "not found\n");
    if (req.method !== "GET" && req.method !== "HEAD") {
      return answer(405, "method not allowed\n", { allow: "GET, HEAD" });
    }
    source.render().then(
      (text) => answer(200, text, { "content-type": source.contentType }),
      (err: Error) => answer(500, `cannot render metrics: ${err.message}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, opts.hostname, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { address, port } = server.address() as AddressInfo;
  const host = address.includes(":") ? `[${address}]` : address;
  return {
    url: `http://${host}:${port}/metrics`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
