#!/usr/bin/env bash
# The one start command: runs cri-podman's CRI server on rootless Podman. Extra arguments go to `serve`.
#
#   sudo scripts/start.sh [FLAGS]   on a fresh Debian 12: prepares the host (scripts/setup_host.sh), bundles the
#                                   runtime to /usr/local/lib/cri-podman/cri-podman.js and serves it as the
#                                   unprivileged user (CRI_PODMAN_USER, default cripodman)
#   scripts/start.sh [FLAGS]        as a user who has rootless Podman and Deno: `deno task start [FLAGS]`
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# Behind a TLS-inspecting proxy Deno needs the system CA store to reach the npm registry (see scripts/test.sh).
export DENO_TLS_CA_STORE="${DENO_TLS_CA_STORE:-system,mozilla}"
# V8's heap settings (src/version.ts says why; CRI_PODMAN_V8_FLAGS replaces them, e.g. for a node of many pods).
v8_flags="${CRI_PODMAN_V8_FLAGS:---max-semi-space-size=1,--max-old-space-size=128}"

if [ "$(id -u)" -ne 0 ]; then
  cd "$repo"
  # What `deno task start` runs, exec'd so that this script's pid is the server's: a SIGTERM or Ctrl-C reaches it
  # directly and it shuts down gracefully.
  exec deno run --allow-all --v8-flags="$v8_flags" mod.ts serve "$@"
fi

user="${CRI_PODMAN_USER:-cripodman}"
bash "$repo/scripts/setup_host.sh" "$user" </dev/null
uid="$(id -u "$user")"
home="$(getent passwd "$user" | cut -d: -f6)"
bundle=/usr/local/lib/cri-podman/cri-podman.js
install -d -m 0755 "$(dirname "$bundle")"
(cd "$repo" && deno install --frozen >/dev/null && deno bundle --quiet --minify --output "$bundle" mod.ts)
chmod 0644 "$bundle"
printf 'start.sh: serving as %s; point crictl at unix:///run/user/%s/cri-podman/cri-podman.sock\n' "$user" "$uid" >&2
cd /
# setpriv execs (runuser would fork, answer SIGTERM with "Session terminated" and SIGKILL the server 2 s later, in
# the middle of its graceful shutdown): the server keeps this script's pid and gets every signal itself.
exec setpriv --reuid="$uid" --regid="$(id -g "$user")" --init-groups -- env -i HOME="$home" USER="$user" \
  LOGNAME="$user" LANG=C.UTF-8 PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
  XDG_RUNTIME_DIR="/run/user/$uid" deno run --allow-all --v8-flags="$v8_flags" --no-config "$bundle" serve "$@"
