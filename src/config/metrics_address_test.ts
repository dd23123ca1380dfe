import assert from "node:assert/strict";
import { resolveConfig } from "./load.ts";
import { listenAddressProblem, parseListenAddress } from "./rules.ts";

Deno.test("parseListenAddress() reads IP:port, IPv6 in brackets", () => {
  assert.deepEqual(parseListenAddress("127.0.0.1:9090"), { hostname: "127.0.0.1", port: 9090 });
  assert.deepEqual(parseListenAddress("0.0.0.0:0"), { hostname: "0.0.0.0", port: 0 });
  assert.deepEqual(parseListenAddress("[::1]:65535"), { hostname: "::1", port: 65535 });
  for (
    const bad of [
      "",
      "127.0.0.1",
      ":9090",
      "localhost:9090",
      "::1:9090",
      "127.0.0.1:65536",
      "127.0.0.1:09",
      "1.2.3:4",
      "[1.2.3.4]:5",
      "http://127.0.0.1:9090",
    ]
  ) {
    assert.equal(parseListenAddress(bad), undefined, bad);
  }
  assert.equal(listenAddressProblem(""), undefined, '"" is off');
  assert.match(listenAddressProblem("localhost:9090")!, /expected IP:port/);
});

Deno.test("metrics.address: off by default, set by the file or CRI_PODMAN_METRICS_ADDRESS, validated", () => {
  const base = { runtimeDir: "/run/user/2000", env: {} };
  assert.equal(resolveConfig(base).metrics.address, "");
  const file = { path: "c.toml", text: '[metrics]\naddress = "127.0.0.1:9090"\n' };
  assert.equal(resolveConfig({ ...base, file }).metrics.address, "127.0.0.1:9090");
  assert.equal(
    resolveConfig({ ...base, file, env: { CRI_PODMAN_METRICS_ADDRESS: "[::1]:9100" } }).metrics.address,
    "[::1]:9100",
  );
  assert.throws(
    () => resolveConfig({ ...base, env: { CRI_PODMAN_METRICS_ADDRESS: "localhost:9090" } }),
    /^ConfigError: Invalid configuration key "metrics\.address": "localhost:9090" is not an address to listen on/,
  );
  assert.throws(
    () => resolveConfig({ ...base, file: { path: "c.toml", text: "[metrics]\nport = 1\n" } }),
    /Invalid configuration key "metrics\.port": unknown key/,
  );
});
