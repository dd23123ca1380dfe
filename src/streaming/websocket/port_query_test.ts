import assert from "node:assert/strict";
import { parsePortQuery } from "./port_query.ts";

Deno.test("ports from repeated and comma-separated port parameters", () => {
  assert.deepEqual(parsePortQuery("?port=80&port=8080"), { ok: true, ports: [80, 8080] });
  assert.deepEqual(parsePortQuery("port=80,443&port=65535"), { ok: true, ports: [80, 443, 65535] });
  assert.deepEqual(parsePortQuery(new URLSearchParams({ port: "1" })), { ok: true, ports: [1] });
});

Deno.test("kubelet's refusals, with its words", () => {
  assert.deepEqual(parsePortQuery("?ports=80"), { ok: false, message: 'query parameter "port" is required' });
  assert.deepEqual(parsePortQuery("?port="), { ok: false, message: 'query parameter "port" cannot be empty' });
  assert.deepEqual(parsePortQuery("?port=http"), {
    ok: false,
    message: 'unable to parse "http" as a port: invalid syntax',
  });
  assert.deepEqual(parsePortQuery("?port=80,-1"), {
    ok: false,
    message: 'unable to parse "80,-1" as a port: invalid syntax',
  });
  assert.deepEqual(parsePortQuery("?port=70000"), {
    ok: false,
    message: 'unable to parse "70000" as a port: value out of range',
  });
  assert.deepEqual(parsePortQuery("?port=0"), { ok: false, message: 'port "0" must be > 0' });
});
