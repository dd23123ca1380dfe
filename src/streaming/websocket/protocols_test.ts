import assert from "node:assert/strict";
import {
  channelProtocol,
  chooseSubprotocol,
  NO_SUBPROTOCOL,
  parseSubprotocols,
  PORT_FORWARD_PROTOCOLS,
  REMOTE_COMMAND_PROTOCOLS,
} from "./protocols.ts";

Deno.test("the client's order decides among the subprotocols we accept", () => {
  // client-go's NewWebSocketExecutorForProtocols offers v5 before v4.
  assert.equal(
    chooseSubprotocol(["v5.channel.k8s.io", "v4.channel.k8s.io"], REMOTE_COMMAND_PROTOCOLS),
    "v5.channel.k8s.io",
  );
  assert.equal(
    chooseSubprotocol(["v4.channel.k8s.io", "v5.channel.k8s.io"], REMOTE_COMMAND_PROTOCOLS),
    "v4.channel.k8s.io",
  );
  assert.equal(
    chooseSubprotocol(["v3.channel.k8s.io", "base64.channel.k8s.io"], REMOTE_COMMAND_PROTOCOLS),
    "base64.channel.k8s.io",
  );
});

Deno.test('nothing in common is no subprotocol; none offered is "" where kubelet allows it', () => {
  assert.equal(chooseSubprotocol(["v3.channel.k8s.io"], REMOTE_COMMAND_PROTOCOLS), undefined);
  assert.equal(chooseSubprotocol(["v5.channel.k8s.io"], PORT_FORWARD_PROTOCOLS), undefined);
  assert.equal(chooseSubprotocol([], REMOTE_COMMAND_PROTOCOLS), NO_SUBPROTOCOL);
  assert.equal(chooseSubprotocol([], ["v5.channel.k8s.io"]), undefined);
  // An empty name offered alongside others never selects "".
  assert.equal(chooseSubprotocol(["", "x"], REMOTE_COMMAND_PROTOCOLS), undefined);
});

Deno.test("Sec-WebSocket-Protocol is a comma list, possibly over several header lines", () => {
  assert.deepEqual(parseSubprotocols(" v5.channel.k8s.io , v4.channel.k8s.io"), [
    "v5.channel.k8s.io",
    "v4.channel.k8s.io",
  ]);
  assert.deepEqual(parseSubprotocols(["a", "b, c"]), ["a", "b", "c"]);
  assert.deepEqual(parseSubprotocols(undefined), []);
  assert.deepEqual(parseSubprotocols(""), []);
});

Deno.test("each protocol's framing and status format follow kubelet's table", () => {
  assert.deepEqual(channelProtocol("v5.channel.k8s.io"), {
    name: "v5.channel.k8s.io",
    encoding: "binary",
    status: "v4",
  });
  assert.deepEqual(channelProtocol("v4.base64.channel.k8s.io"), {
    name: "v4.base64.channel.k8s.io",
    encoding: "base64",
    status: "v4",
  });
  assert.deepEqual(channelProtocol("channel.k8s.io"), { name: "channel.k8s.io", encoding: "binary", status: "v1" });
  assert.deepEqual(channelProtocol("base64.channel.k8s.io"), {
    name: "base64.channel.k8s.io",
    encoding: "base64",
    status: "v1",
  });
  assert.deepEqual(channelProtocol(""), { name: "", encoding: "binary", status: "v1" });
  assert.equal(channelProtocol("SPDY/3.1+portforward.k8s.io"), undefined);
});
