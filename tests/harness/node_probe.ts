/**
 * A client run inside the node by tests/node_test.ts (`cri-podman node -- deno run … node_probe.ts …`), so what it
 * reaches is what a kubelet in the node reaches. Prints what it got on stdout; exit status 1 with the error otherwise.
 *
 *   node_probe.ts exec URL                  runs the exec session the URL names (WebSocket, v5.channel.k8s.io)
 *   node_probe.ts portforward URL TEXT      sends an HTTP GET through the port-forward URL (one port), prints the answer
 *                                           once TEXT is in it
 *   node_probe.ts http URL                  a plain HTTP GET (pod IP, hostPort, host-network port)
 * @module
 */
import { dialPortForward, dialRemoteCommand } from "./ws_client.ts";

async function main([kind, url, until]: string[]): Promise<string> {
  if (!url) throw new Error("usage: node_probe.ts exec|portforward|http URL");
  if (kind === "http") {
    const response = await fetch(url, { signal: AbortSignal.timeout(10_000) });
    return `${response.status} ${await response.text()}`;
  }
  if (kind === "exec") {
    const client = await dialRemoteCommand(url.replace(/^http/, "ws"));
    const result = await client.done;
    return new TextDecoder().decode(result.stdout);
  }
  if (kind === "portforward") {
    const client = await dialPortForward(url.replace(/^http/, "ws"), 1);
    try {
      await client.send(0, new TextEncoder().encode("GET / HTTP/1.0\r\n\r\n"));
      await client.until(() => client.text(0).includes(until ?? "\r\n\r\n"));
      return client.text(0);
    } finally {
      client.ws.terminate();
    }
  }
  throw new Error(`unknown probe ${kind}`);
}

main(Deno.args).then((text) => {
  console.log(text);
  Deno.exit(0);
}, (err) => {
  console.error(`node_probe: ${(err as Error).message}`);
  Deno.exit(1);
});
