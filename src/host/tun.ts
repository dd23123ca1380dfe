/**
 * Whether this user can open /dev/net/tun, which rootless pod networking (slirp4netns) needs.
 * @module
 */
import { access, constants } from "node:fs/promises";

/** Resolves true when /dev/net/tun is readable and writable by this process. */
export async function tunUsable(path = "/dev/net/tun"): Promise<boolean> {
  try {
    await access(path, constants.R_OK | constants.W_OK);
    return true;
  } catch {
    return false;
  }
}
