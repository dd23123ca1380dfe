/**
 * Direct libpod calls for the benchmarks' "same work without cri-podman" side.
 * @module
 */
import { Pool } from "undici";

/** A small libpod client: `call(method, path, body?)` → parsed JSON (or undefined), throwing on failure. */
export function libpodCaller(socketPath: string): {
  // deno-lint-ignore no-explicit-any
  call: (method: string, path: string, body?: unknown) => Promise<any>;
  close: () => Promise<void>;
} {
  const pool = new Pool("http://podman", { socketPath, connections: 4 });
  return {
    call: async (method, path, body) => {
      const res = await pool.request({
        method: method as "GET",
        path: `/v4.0.0/libpod${path}`,
        ...(body ? { body: JSON.stringify(body), headers: { "content-type": "application/json" } } : {}),
      });
      const text = await res.body.text();
      if (res.statusCode >= 300 && res.statusCode !== 304) throw new Error(`${path}: ${res.statusCode} ${text}`);
      return text ? JSON.parse(text) : undefined;
    },
    close: () => pool.close(),
  };
}
