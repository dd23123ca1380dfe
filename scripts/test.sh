#!/usr/bin/env bash
# The one test command: format/lint/type check, then unit and integration tests against real rootless Podman.
#
#   sudo scripts/test.sh    on a fresh Debian 12: prepares the host (scripts/setup_host.sh), copies the repo to
#                           a folder of the unprivileged test user and runs this script there as that user
#   scripts/test.sh         as an unprivileged user who already has rootless Podman
#
# Environment: CRI_PODMAN_USER (test user when run as root, default cripodman), CRI_PODMAN_TEST_TIMEOUT (seconds
# for `deno task test`, default 4500: CI allows 90 minutes for everything); CI and NO_COLOR are passed through.
# Exit status: 0 when the checks and every test passed, non-zero otherwise.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
deno_version="2.9.6"

log() { printf 'test.sh: %s\n' "$*" >&2; }
now() { date +%s; }

# ---------------------------------------------------------------------------------------------------------------
# As root: prepare the host, then run as the test user from a copy that user owns. Rootless Podman must not run
# as root, and CI's clone may sit below folders the test user cannot read.
if [ "$(id -u)" -eq 0 ]; then
  user="${CRI_PODMAN_USER:-cripodman}"
  t0=$(now)
  bash "$repo/scripts/setup_host.sh" "$user" </dev/null
  log "host setup took $(($(now) - t0)) s"

  uid="$(id -u "$user")"
  home="$(getent passwd "$user" | cut -d: -f6)"
  # Fixtures of the test user, not of cri-podman: several tests drive the Podman CLI itself (builds, events, `podman
  # start`), which uses the user's configured OCI runtime, so that must run containers here (crun 1.8 cannot on
  # hybrid cgroup hosts); and overlay keeps the suites fast. cri-podman needs neither: tests/first_run_as_root.ts
  # starts it for users with no configuration at all.
  conf="$home/.config/containers"
  if grep -qF "written by cri-podman's scripts/setup_host.sh" "$conf/containers.conf" 2>/dev/null &&
    ! grep -q '^runtime' "$conf/containers.conf" && command -v runc >/dev/null; then
    printf '\n[engine]\nruntime = "runc"\n' >>"$conf/containers.conf"
  fi
  if [ ! -f "$conf/storage.conf" ] && [ ! -d "$home/.local/share/containers/storage" ]; then
    printf '[storage]\ndriver = "overlay"\n' >"$conf/storage.conf"
    chown "$user:$user" "$conf/storage.conf"
  fi

  dest="$home/ci/cri-podman"
  install -d -o "$user" -g "$user" "$home/ci" "$dest"
  # Serialise runs that share the copy (a developer's sudo run next to CI's); -w: give up after 20 minutes.
  exec 9>"$home/ci/.lock"
  flock -w 1200 9 || {
    log "another test run holds $home/ci/.lock"
    exit 1
  }
  # --delete refreshes the copy; excluded folders survive in $dest, so node_modules is reused between runs.
  rsync -a --delete --chown="$user:$user" --exclude=/node_modules --exclude=/.tmp --exclude=/dist \
    "$repo/" "$dest/"
  log "running as $user in $dest"
  root_out="$(mktemp -d "${TMPDIR:-/tmp}/cri-podman-root.XXXXXX")"
  trap 'rm -rf "$root_out"' EXIT
  set +e
  # cd first: runuser keeps root's working directory, which the test user may not be allowed to enter.
  user_env=(HOME="$home" USER="$user" LOGNAME="$user" SHELL=/bin/bash LANG=C.UTF-8 TEST_SH_PHASE=user
    PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" XDG_RUNTIME_DIR="/run/user/$uid")
  # Keep how this machine reaches the npm registry (proxies, extra CAs): env -i would drop it, and a fresh user
  # has no Deno cache yet, so `deno install` must download.
  for name in CI NO_COLOR CRI_PODMAN_TEST_TIMEOUT HTTP_PROXY HTTPS_PROXY NO_PROXY http_proxy https_proxy no_proxy \
    SSL_CERT_FILE SSL_CERT_DIR NODE_EXTRA_CA_CERTS DENO_CERT DENO_TLS_CA_STORE NPM_CONFIG_REGISTRY; do
    [ -z "${!name:-}" ] || user_env+=("$name=${!name}")
  done
  # 9>&-: long-lived children (Podman's pause process) must not inherit the lock.
  (cd "$dest" && runuser -u "$user" -- env -i "${user_env[@]}" bash "$dest/scripts/test.sh" "$@" </dev/null 9>&-) |
    tee "$root_out/user"
  rc=${PIPESTATUS[0]}

  # The first run on a machine, as the README says it: new users, made here, so as root (tests/first_run_as_root.ts).
  log "running the first-run test as root (brand-new users)"
  export DENO_TLS_CA_STORE="${DENO_TLS_CA_STORE:-system,mozilla}"
  (cd "$repo" && deno install --frozen >/dev/null && NO_COLOR=1 timeout 900 deno task test:first-run 2>&1) </dev/null 9>&- |
    tee "$root_out/root"
  root_rc=${PIPESTATUS[0]}
  set -e
  [ "$root_rc" -eq 0 ] || log "first-run test FAILED (exit $root_rc)"

  # One summary line for CI: the unprivileged suites' counts plus the first-run test's.
  count() { grep -oE "[0-9]+ $2" <<<"$1" | head -1 | cut -d' ' -f1; }
  user_line="$(grep -E '^tests \(unprivileged suites\): ' "$root_out/user" | tail -1)"
  root_line="$(sed 's/\x1b\[[0-9;]*m//g' "$root_out/root" | grep -E '^(ok|FAILED) \| [0-9]+ passed' | tail -1)"
  passed=$(($(count "$user_line" passed || echo 0) + $(count "$root_line" passed || echo 0)))
  nfailed=$(($(count "$user_line" failed || echo 0) + $(count "$root_line" failed || echo 0)))
  skipped=$(count "$user_line" skipped || true)
  [ -n "$root_line" ] || { nfailed=$((nfailed + 1)); log "no summary from the first-run test"; }
  echo "tests: $passed passed, $nfailed failed${skipped:+, $skipped skipped}"
  [ "$rc" -eq 0 ] && [ "$root_rc" -eq 0 ] && exit 0
  exit 1
fi

# ---------------------------------------------------------------------------------------------------------------
# As the unprivileged user.
cd "$repo"
start=$(now)

# Deno: the pinned version, else a user-local install from npm (no root needed).
export PATH="$HOME/.local/bin:$PATH"
if ! command -v deno >/dev/null || [ "$(deno --version | awk 'NR==1{print $2}')" != "$deno_version" ]; then
  command -v npm >/dev/null || {
    log "need deno $deno_version or npm to install it (sudo scripts/setup_host.sh installs both)"
    exit 2
  }
  log "installing deno@$deno_version into $HOME/.local"
  npm install -g --prefix "$HOME/.local" --silent "deno@$deno_version" >/dev/null
fi
command -v podman >/dev/null || {
  log "podman is not installed (sudo scripts/setup_host.sh installs and configures it)"
  exit 2
}

if [ -z "${XDG_RUNTIME_DIR:-}" ]; then
  uid="$(id -u)"
  if [ -d "/run/user/$uid" ] && [ -w "/run/user/$uid" ]; then
    XDG_RUNTIME_DIR="/run/user/$uid"
  else
    XDG_RUNTIME_DIR="${TMPDIR:-/tmp}/cri-podman-xdg-$uid"
    mkdir -p "$XDG_RUNTIME_DIR"
    chmod 0700 "$XDG_RUNTIME_DIR"
  fi
  export XDG_RUNTIME_DIR
fi
# Fail early and clearly when rootless Podman cannot work at all, rather than in every integration test.
podman_info() {
  podman info --format '{{.Host.Security.Rootless}} {{.Store.GraphDriverName}} {{.Host.OCIRuntime.Name}}' 2>&1
}
if ! podman_info="$(podman_info)"; then
  # A reused machine: an earlier run's processes were all killed while the runtime directory stayed, and Podman
  # refuses every command until its user namespace is reset (cri-podman's embedded service does the same).
  if [[ "$podman_info" == *"system migrate"* ]]; then
    log "podman's user namespace outlived its processes (an earlier run was killed): podman system migrate"
    podman system migrate
    podman_info="$(podman_info)" || {
      log "podman does not work for $(id -un) even after podman system migrate: $podman_info"
      exit 2
    }
  else
    log "podman does not work for $(id -un): $podman_info"
    exit 2
  fi
fi
# Podman builds its pause image (from catatonit) on the first pod it creates. Do that once here, not in several
# test files at the same time on a fresh machine.
warmup="cri-podman-warmup-$$"
podman pod create --name "$warmup" >/dev/null && podman pod rm --force "$warmup" >/dev/null

log "$(deno --version | head -1), podman $(podman --version | awk '{print $3}') (rootless storage runtime: $podman_info)"

t0=$(now)
# Deno trusts only its bundled roots unless told otherwise; behind a TLS-inspecting proxy the system store (where
# such a machine installs its CA) is what works. Both stores together change nothing elsewhere.
export DENO_TLS_CA_STORE="${DENO_TLS_CA_STORE:-system,mozilla}"
deno install --frozen
log "deno install took $(($(now) - t0)) s"

failed=()
t0=$(now)
if deno task check; then log "check passed in $(($(now) - t0)) s"; else
  failed+=(check)
  log "check FAILED"
fi

# Temp files of this run (harness sockets, logs, registry storage) in one folder, removed at the end even when
# a test process died before cleaning up. Short path: unix socket paths below it must stay under 108 bytes.
run_tmp="$(mktemp -d "${TMPDIR:-/tmp}/cri-podman-run.XXXXXX")"
trap 'rm -rf "$run_tmp"' EXIT
export TMPDIR="$run_tmp"

# Run the tests even when the check failed: one CI run then reports both.
# `timeout` puts the test run in a process group of its own (pgid = its pid). After the run, whatever is left in
# that group (services started by a test process that crashed or was killed) is ended, so nothing outlives us.
# Podman's pause process and conmon start sessions of their own and are not touched.
out="$run_tmp/test-output"
pgid_file="$run_tmp/test-pgid"
end_group() {
  local pgid
  pgid="$(cat "$pgid_file" 2>/dev/null)"
  [ -n "$pgid" ] || return 0
  if pgrep -g "$pgid" >/dev/null; then
    log "ending processes the tests left behind: $(pgrep -d ' ' -g "$pgid")"
    kill -TERM -- "-$pgid" 2>/dev/null || true
    for _ in 1 2 3 4 5 6 7 8 9 10; do pgrep -g "$pgid" >/dev/null || break; sleep 0.5; done
    kill -KILL -- "-$pgid" 2>/dev/null || true
  fi
}
trap 'end_group; exit 130' INT TERM
test_timeout="${CRI_PODMAN_TEST_TIMEOUT:-4500}"
t0=$(now)
set +e
(
  echo "$BASHPID" >"$pgid_file"
  exec timeout --kill-after=30 "$test_timeout" deno task test 2>&1
) | tee "$out"
test_rc=${PIPESTATUS[0]}
set -e
end_group
[ "$test_rc" -ne 124 ] || log "tests timed out after $test_timeout s (CRI_PODMAN_TEST_TIMEOUT)"
[ "$test_rc" -eq 0 ] || failed+=(test)
log "tests took $(($(now) - t0)) s (exit $test_rc)"

# Restate Deno's closing line ("ok | 12 passed (3 steps) | 0 failed | 1 ignored (5s)") in the plain
# "N passed, N failed" form that CI reads.
summary="$(sed 's/\x1b\[[0-9;]*m//g' "$out" | grep -E '^(ok|FAILED) \| [0-9]+ passed' | tail -1 || true)"
if [ -n "$summary" ]; then
  passed="$(sed -E 's/.*\| ([0-9]+) passed.*/\1/' <<<"$summary")"
  nfailed="$(sed -E 's/.*\| ([0-9]+) failed.*/\1/' <<<"$summary")"
  ignored="$(grep -oE '[0-9]+ ignored' <<<"$summary" | cut -d' ' -f1 || true)"
  # Run from the root phase, this is one part of the count it prints.
  label="tests"
  [ "${TEST_SH_PHASE:-}" != user ] || label="tests (unprivileged suites)"
  echo "$label: $passed passed, $nfailed failed${ignored:+, $ignored skipped}"
else
  log "no test summary found in the output of deno task test"
  [ "$test_rc" -ne 0 ] || failed+=(no-tests)
fi

log "total $(($(now) - start)) s"
if [ ${#failed[@]} -gt 0 ]; then
  log "FAILED: ${failed[*]}"
  exit 1
fi
log "all passed"
