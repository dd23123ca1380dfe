/**
 * The WebSocket subprotocols of Kubernetes' channel streams, what each one means for the framing and the status, and
 * how one is chosen from the client's offer.
 *
 * Sources: kubernetes/kubernetes pkg/kubelet/cri/streaming/remotecommand/websocket.go (the remote-command protocols
 * kubelet accepts), pkg/kubelet/cri/streaming/portforward/websocket.go (the port-forward ones),
 * staging/src/k8s.io/apimachinery/pkg/util/remotecommand/constants.go (v5 and its close signal),
 * staging/src/k8s.io/apimachinery/pkg/util/httpstream/wsstream/conn.go (`handshake`: the client's order decides).
 * @module
 */
import type { StatusFormat } from "../status.ts";

/** Remote command v5: v4 plus the close signal (channel 255), what client-go's `NewWebSocketExecutor` asks for. */
export const V5_CHANNEL_PROTOCOL = "v5.channel.k8s.io";
/** Remote command / port-forward v4: binary channel frames, the exit status as a JSON Status on channel 3. */
export const V4_CHANNEL_PROTOCOL = "v4.channel.k8s.io";
/** v4 with base64 text frames (a channel digit, then base64). */
export const V4_BASE64_CHANNEL_PROTOCOL = "v4.base64.channel.k8s.io";
/** The unversioned binary protocol: a failure is plain text on channel 3, success writes nothing there. */
export const CHANNEL_PROTOCOL = "channel.k8s.io";
/** The unversioned base64 protocol. */
export const BASE64_CHANNEL_PROTOCOL = "base64.channel.k8s.io";
/** Stands for a client that named no subprotocol, which kubelet serves as `channel.k8s.io` (its `""` entry). */
export const NO_SUBPROTOCOL = "";
/**
 * SPDY/3.1 tunnelled in WebSocket binary messages: what `kubectl port-forward` (PortForwardWebsockets) and
 * `crictl port-forward --transport websocket` ask for (client-go tools/portforward, apiserver util/proxy/streamtunnel.go).
 * It is not a channel protocol: the connection carries SPDY frames, for the SPDY side to serve.
 */
export const SPDY_TUNNEL_PORT_FORWARD_PROTOCOL = "SPDY/3.1+portforward.k8s.io";

/** Every subprotocol kubelet's remote-command server accepts, plus v5 (the apiserver's and client-go's). */
export const REMOTE_COMMAND_PROTOCOLS: readonly string[] = [
  V5_CHANNEL_PROTOCOL,
  V4_CHANNEL_PROTOCOL,
  V4_BASE64_CHANNEL_PROTOCOL,
  CHANNEL_PROTOCOL,
  BASE64_CHANNEL_PROTOCOL,
  NO_SUBPROTOCOL,
];

/** The subprotocols kubelet's WebSocket port-forward accepts (portforward/websocket.go: "", v4 binary, v4 base64). */
export const PORT_FORWARD_PROTOCOLS: readonly string[] = [
  V4_CHANNEL_PROTOCOL,
  V4_BASE64_CHANNEL_PROTOCOL,
  NO_SUBPROTOCOL,
];

/** How a negotiated channel protocol frames data and reports the end of a command. */
export interface ChannelProtocol {
  /** The subprotocol's name (`""` when the client named none). */
  readonly name: string;
  /** `binary`: a channel byte, then the bytes; `base64`: a text frame, an ASCII channel digit, then base64. */
  readonly encoding: "binary" | "base64";
  /** `v4`: a JSON Status on the error channel, success included; `v1`: only a failure, as plain text. */
  readonly status: StatusFormat;
}

const KNOWN: ReadonlyMap<string, ChannelProtocol> = new Map(
  ([
    [V5_CHANNEL_PROTOCOL, "binary", "v4"],
    [V4_CHANNEL_PROTOCOL, "binary", "v4"],
    [V4_BASE64_CHANNEL_PROTOCOL, "base64", "v4"],
    [CHANNEL_PROTOCOL, "binary", "v1"],
    [BASE64_CHANNEL_PROTOCOL, "base64", "v1"],
    [NO_SUBPROTOCOL, "binary", "v1"],
  ] as const).map(([name, encoding, status]) => [name, { name, encoding, status }]),
);

/** The framing and status rules of `name`, or undefined for a subprotocol that is not a channel protocol. */
export function channelProtocol(name: string): ChannelProtocol | undefined {
  return KNOWN.get(name);
}

/** The subprotocols a `Sec-WebSocket-Protocol` header lists, in the client's order of preference (RFC 6455 §4.1). */
export function parseSubprotocols(header: string | readonly string[] | undefined): string[] {
  const joined = typeof header === "string" ? header : (header ?? []).join(",");
  return joined.split(",").map((p) => p.trim()).filter((p) => p !== "");
}

/**
 * The subprotocol to answer with: the first one the client offered that we accept, as wsstream's `handshake` picks
 * it; a client that offered none gets `""` if we accept `NO_SUBPROTOCOL`. Undefined when nothing matches.
 */
export function chooseSubprotocol(offered: readonly string[], accepted: readonly string[]): string | undefined {
  if (offered.length === 0) return accepted.includes(NO_SUBPROTOCOL) ? NO_SUBPROTOCOL : undefined;
  return offered.find((p) => p !== NO_SUBPROTOCOL && accepted.includes(p));
}
