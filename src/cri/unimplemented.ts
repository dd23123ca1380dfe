/**
 * Handlers for RPCs cri-podman does not serve yet: they answer gRPC UNIMPLEMENTED naming the RPC.
 * @module
 */
import { unimplementedError } from "../errors.ts";

/** A unary handler that rejects with Unimplemented for `rpc`. */
export function unimplemented(rpc: string): () => Promise<never> {
  return () => Promise.reject(unimplementedError(rpc));
}

/** A server-streaming handler that fails with Unimplemented for `rpc`. */
export function unimplementedStream(rpc: string): () => AsyncIterable<never> {
  return () => ({
    [Symbol.asyncIterator]: () => ({ next: () => Promise.reject(unimplementedError(rpc)) }),
  });
}
