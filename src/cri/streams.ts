/**
 * What Exec and Attach share: the checks of the streams a client asks for (CRI api.proto, ExecRequest and
 * AttachRequest), and the container they stream from, which must exist and run.
 * @module
 */
import { CriError } from "../errors.ts";
import type { RpcContext } from "./context.ts";
import { type FoundContainer, getContainer } from "./lookup.ts";

/** The stream flags of an Exec or Attach request. */
export interface StreamFlags {
  tty: boolean;
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
}

/** One of stdin, stdout and stderr must be asked for, and a TTY carries no separate stderr (CRI api.proto). */
export function checkStreamFlags(flags: StreamFlags): void {
  if (!flags.stdin && !flags.stdout && !flags.stderr) {
    throw new CriError("InvalidArgument", "one of stdin, stdout and stderr must be true");
  }
  if (flags.tty && flags.stderr) {
    throw new CriError("InvalidArgument", "tty and stderr cannot both be true: a TTY combines stdout and stderr");
  }
}

/** The running container a streaming request names (NOT_FOUND, or FAILED_PRECONDITION when it does not run). */
export async function runningContainer(ctx: RpcContext, id: string): Promise<FoundContainer> {
  const found = await getContainer(ctx, id);
  const { container } = found;
  if (!container.State.Running) {
    throw new CriError("FailedPrecondition", `Container "${container.Id}" is not running (${container.State.Status})`);
  }
  return found;
}
