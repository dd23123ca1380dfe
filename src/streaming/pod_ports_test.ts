/**
 * The pure parts of the pod port forwarder: how the helper is invoked in each run mode and behind nsenter, and that
 * its source stands alone. The helper itself runs against real sockets and pods in tests/port_forward_test.ts.
 */
import assert from "node:assert/strict";
import {
  enterNetnsArgv,
  helperArgv,
  helperModuleUrl,
  PORT_FORWARD_HELPER_COMMAND,
  runPortForwardHelper,
} from "./pod_ports.ts";

const SOCKET = "/run/user/1001/cri-podman/portforward/abc.sock";

Deno.test("enterNetnsArgv enters the user namespace first, and only what differs from ours", () => {
  const helper = ["/usr/bin/deno", "run", "x"];
  assert.deepEqual(
    enterNetnsArgv(4242, { sameNet: false, sameUser: false }, helper),
    ["nsenter", "-t", "4242", "-U", "--preserve-credentials", "-n", "--", ...helper],
  );
  // Already in the pod's user namespace: entering it again would fail with EINVAL.
  assert.deepEqual(enterNetnsArgv(4242, { sameNet: false, sameUser: true }, helper), [
    "nsenter",
    "-t",
    "4242",
    "-n",
    "--",
    ...helper,
  ]);
  // A host-network pod: no nsenter at all.
  assert.deepEqual(enterNetnsArgv(4242, { sameNet: true, sameUser: false }, helper), helper);
});

Deno.test("helperArgv: deno run of a data: URL with only the socket and loopback allowed, when not compiled", () => {
  const argv = helperArgv(SOCKET, { standalone: false, execPath: "/usr/bin/deno" });
  assert.equal(argv[0], "/usr/bin/deno");
  assert.equal(argv[1], "run");
  assert.ok(argv.includes("--no-config"), "no deno.json of ours or the working directory's");
  assert.ok(argv.includes("--no-prompt"));
  assert.ok(argv.includes(`--allow-net=127.0.0.1,[::1],unix:${SOCKET}`));
  assert.ok(argv.includes(`--allow-read=${SOCKET}`));
  assert.ok(argv.includes(`--allow-write=${SOCKET}`));
  assert.ok(!argv.some((a) => a === "-A" || a === "--allow-all" || a.startsWith("--allow-run")));
  assert.deepEqual(argv.slice(-2), [helperModuleUrl(), SOCKET]);
});

Deno.test("helperArgv: a compiled binary runs itself with the hidden command", () => {
  assert.deepEqual(helperArgv(SOCKET, { standalone: true, execPath: "/usr/local/bin/cri-podman" }), [
    "/usr/local/bin/cri-podman",
    PORT_FORWARD_HELPER_COMMAND,
    SOCKET,
  ]);
});

Deno.test("the helper's data: module is the helper alone, and it parses", () => {
  const url = helperModuleUrl();
  assert.match(url, /^data:text\/javascript;base64,/);
  const source = new TextDecoder().decode(
    Uint8Array.from(atob(url.slice(url.indexOf(",") + 1)), (c) => c.charCodeAt(0)),
  );
  assert.ok(source.includes("runPortForwardHelper"));
  assert.ok(source.includes("Deno.exit(code)"));
  // Nothing from the module around it: no import, none of its other functions or constants.
  for (const outside of ["import ", "ensurePrivateDirectory", "Buffer", "MAX_", "unixPodConnection", "keepTail"]) {
    assert.ok(!source.includes(outside), `the helper source mentions ${outside}`);
  }
  // A syntax check without running it (the module has no top-level await).
  assert.doesNotThrow(() => new Function(source));
});

Deno.test("the helper refuses a missing or relative socket path", async () => {
  const errors: unknown[] = [];
  const original = console.error;
  console.error = (...args: unknown[]) => errors.push(args.join(" "));
  try {
    assert.equal(await runPortForwardHelper([]), 2);
    assert.equal(await runPortForwardHelper(["relative.sock"]), 2);
    assert.equal(await runPortForwardHelper(["/a.sock", "extra"]), 2);
  } finally {
    console.error = original;
  }
  assert.equal(errors.length, 3);
  assert.match(String(errors[0]), /usage: __portforward-helper SOCKET_PATH/);
});
