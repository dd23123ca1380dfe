/**
 * The seccomp and AppArmor profiles a CRI security context asks for, read as containerd reads them: the
 * `seccomp` / `apparmor` fields first, else the deprecated strings older clients (crictl and critest 1.26 and
 * earlier) still send, `seccomp_profile_path` and `apparmor_profile`: "runtime/default" (or "docker/default" for
 * seccomp), "unconfined", or "localhost/<profile>". Anything else is refused, naming the field. Pure.
 * @module
 */
import { type SecurityProfile, SecurityProfile_ProfileType } from "../gen/runtime/v1/api_pb.ts";
import { CriError } from "../errors.ts";

/** A profile choice: the runtime's default, none, or one from the node. */
export type ProfileChoice = { kind: "default" } | { kind: "unconfined" } | { kind: "localhost"; ref: string };

const LOCALHOST = "localhost/";

function fromProfile(profile: SecurityProfile): ProfileChoice {
  if (profile.profileType === SecurityProfile_ProfileType.Unconfined) return { kind: "unconfined" };
  if (profile.profileType === SecurityProfile_ProfileType.Localhost) {
    return { kind: "localhost", ref: profile.localhostRef };
  }
  return { kind: "default" };
}

/**
 * The seccomp profile: `seccomp`, else `seccomp_profile_path` ("" is unconfined, as api.proto says). `field` names the
 * security context in errors (`config.linux.security_context`).
 */
export function seccompChoice(
  sc: { seccomp?: SecurityProfile | undefined; seccompProfilePath: string },
  field: string,
): ProfileChoice {
  if (sc.seccomp) return fromProfile(sc.seccomp);
  const path = sc.seccompProfilePath;
  if (path === "" || path === "unconfined") return { kind: "unconfined" };
  if (path === "runtime/default" || path === "docker/default") return { kind: "default" };
  if (path.startsWith(LOCALHOST) && path.length > LOCALHOST.length) {
    return { kind: "localhost", ref: path.slice(LOCALHOST.length) };
  }
  throw new CriError(
    "InvalidArgument",
    `${field}.seccomp_profile_path "${path}" is not a profile: use runtime/default, docker/default, unconfined or ` +
      `localhost/<path of a profile on the node>`,
  );
}

/** The AppArmor profile: `apparmor`, else `apparmor_profile`; undefined when neither asks for one. */
export function apparmorChoice(
  sc: { apparmor?: SecurityProfile | undefined; apparmorProfile: string },
  field: string,
): ProfileChoice | undefined {
  if (sc.apparmor) return fromProfile(sc.apparmor);
  const profile = sc.apparmorProfile;
  if (profile === "") return undefined;
  if (profile === "unconfined") return { kind: "unconfined" };
  if (profile === "runtime/default") return { kind: "default" };
  if (profile.startsWith(LOCALHOST) && profile.length > LOCALHOST.length) {
    return { kind: "localhost", ref: profile.slice(LOCALHOST.length) };
  }
  throw new CriError(
    "InvalidArgument",
    `${field}.apparmor_profile "${profile}" is not a profile: use runtime/default, unconfined or localhost/<name>`,
  );
}
