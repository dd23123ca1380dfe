/**
 * The ports of a WebSocket port-forward request's URL (`?port=80&port=8080`, or `?port=80,8080`), read as kubelet's
 * `NewV4Options` reads them (kubernetes/kubernetes pkg/kubelet/cri/streaming/portforward/websocket.go), with its
 * messages. kubelet's own `/portForward` endpoint takes the ports from there; the CRI streaming server takes them from
 * the PortForward request (`BuildV4Options(pf.Port)`), so a server may prefer the CRI's list when it has one.
 * @module
 */

/** The ports a query names, or why it names none that can be forwarded. */
export type PortQuery = { ok: true; ports: number[] } | { ok: false; message: string };

/** Reads the `port` parameters of `query` (a URL's search part, with or without `?`, or its parameters). */
export function parsePortQuery(query: string | URLSearchParams): PortQuery {
  const values = (typeof query === "string" ? new URLSearchParams(query) : query).getAll("port");
  if (values.length === 0) return { ok: false, message: 'query parameter "port" is required' };
  const ports: number[] = [];
  for (const value of values) {
    if (value === "") return { ok: false, message: 'query parameter "port" cannot be empty' };
    for (const part of value.split(",")) {
      // strconv.ParseUint(p, 10, 16): decimal digits only, at most 65535.
      if (!/^[0-9]+$/.test(part)) {
        return { ok: false, message: `unable to parse ${JSON.stringify(value)} as a port: invalid syntax` };
      }
      const port = Number(part);
      if (port > 0xffff) {
        return { ok: false, message: `unable to parse ${JSON.stringify(value)} as a port: value out of range` };
      }
      if (port < 1) return { ok: false, message: `port ${JSON.stringify(value)} must be > 0` };
      ports.push(port);
    }
  }
  return { ok: true, ports };
}
