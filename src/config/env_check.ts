/**
 * Warnings about `CRI_PODMAN_*` environment variables nobody reads: a misspelt one would otherwise be ignored in
 * silence, and the setting it was meant for keeps its default.
 * @module
 */
import { closestName } from "./suggest.ts";
import { CONFIG_KEYS } from "./schema.ts";

const PREFIX = "CRI_PODMAN_";

/**
 * `CRI_PODMAN_*` variables that are not configuration keys but are read elsewhere, so they are no typo. Keep in step
 * with `grep -rn CRI_PODMAN_ scripts/ tests/ src/` (a test in env_check_test.ts does that grep).
 */
export const NON_CONFIG_ENV_VARS: readonly string[] = [
  // The configuration file's path (src/config/read.ts).
  "CRI_PODMAN_CONFIG",
  // The unprivileged user of scripts/setup_host.sh, start.sh and test.sh.
  "CRI_PODMAN_USER",
  // scripts/test.sh's time limit for the whole test run.
  "CRI_PODMAN_TEST_TIMEOUT",
  // Where tests/harness/ sends the output of the processes it starts.
  "CRI_PODMAN_HARNESS_LOG",
  // scripts/start.sh's V8 flags, instead of the ones of src/version.ts.
  "CRI_PODMAN_V8_FLAGS",
  // Set by `cri-podman node` for the command it runs (src/config/schema.ts IN_NODE_ENV_VAR).
  "CRI_PODMAN_IN_NODE",
];

/** Returns one warning per `CRI_PODMAN_*` variable in `env` that nothing reads, with the closest known name if any. */
export function unknownEnvWarnings(env: Readonly<Record<string, string | undefined>>): string[] {
  const known = [...CONFIG_KEYS.map((doc) => doc.env), ...NON_CONFIG_ENV_VARS];
  const knownSuffixes = known.map((name) => name.slice(PREFIX.length));
  return Object.keys(env)
    .filter((name) => name.startsWith(PREFIX) && !known.includes(name))
    .sort()
    .map((name) => {
      // Compare what follows the common prefix, so that the prefix does not make every name look close.
      const suggestion = closestName(name.slice(PREFIX.length), knownSuffixes);
      return suggestion === undefined
        ? `unknown environment variable ${name} (ignored; see cri-podman --help)`
        : `unknown environment variable ${name} (did you mean ${PREFIX}${suggestion}?)`;
    });
}
