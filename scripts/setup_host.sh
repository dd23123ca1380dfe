#!/usr/bin/env bash
# Prepares a Debian 12 host for cri-podman as root: packages, Deno, an unprivileged user with subordinate ids and a
# runtime directory, /dev/net/tun for slirp4netns, and keyring = false in that user's containers.conf (see README
# "Rootless prerequisites"). Safe to run again.
# Usage: scripts/setup_host.sh [USER]     (default user: cripodman)
set -euo pipefail

user="${1:-${CRI_PODMAN_USER:-cripodman}}"
deno_version="2.9.6"
# Podman's recommended helpers are listed by name because apt runs with --no-install-recommends: netavark and
# aardvark-dns (rather than CNI plugins) for rootless bridge networks, iptables for their rules.
# Test fixtures: busybox-static (image), docker-registry + apache2-utils (htpasswd) for pull tests.
packages=(podman conmon runc crun uidmap slirp4netns fuse-overlayfs catatonit netavark aardvark-dns iptables
  golang-github-containers-common busybox-static docker-registry apache2-utils iproute2 procps util-linux tar
  ca-certificates rsync)

log() { printf 'setup_host: %s\n' "$*" >&2; }

[ "$(id -u)" -eq 0 ] || { log "run me as root (I install packages and create a user)"; exit 2; }

# npm brings Deno (below); Debian's npm only when no npm is there, so a Node.js installed otherwise stays.
command -v npm >/dev/null || packages+=(npm)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# Debian's docker-registry package starts a system-wide registry on :5000; tests run their own instances.
if systemctl is-active --quiet docker-registry 2>/dev/null; then systemctl stop docker-registry || true; fi

if ! command -v deno >/dev/null || [ "$(deno --version | awk 'NR==1{print $2}')" != "$deno_version" ]; then
  log "installing deno@$deno_version from npm"
  npm install -g --silent "deno@$deno_version" >/dev/null
fi

if ! id "$user" >/dev/null 2>&1; then
  log "creating user $user"
  useradd -m -s /bin/bash "$user"
fi
uid="$(id -u "$user")"
for f in /etc/subuid /etc/subgid; do
  grep -q "^$user:" "$f" 2>/dev/null || echo "$user:$((100000 + (uid % 1000) * 65536)):65536" >>"$f"
done

runtime_dir="/run/user/$uid"
mkdir -p "$runtime_dir"
chown "$user:$user" "$runtime_dir"
chmod 0700 "$runtime_dir"

# slirp4netns opens /dev/net/tun as the user; Debian ships it 0600 on some hosts.
[ -e /dev/net/tun ] && chmod 0666 /dev/net/tun

home="$(getent passwd "$user" | cut -d: -f6)"
conf="$home/.config/containers"
# The OCI runtime and the storage driver are cri-podman's own business at start (it probes the runtimes and gives a
# new storage native overlay). What it cannot do for itself: runc and crun give every container a session keyring,
# and an unprivileged user may own only 200 keys (kernel.keys.maxkeys), which ends at about 200 running containers
# with "unable to create session key: disk quota exceeded". keyring = false lifts that ceiling.
marker="# written by cri-podman's scripts/setup_host.sh"
if [ ! -f "$conf/containers.conf" ] || grep -qF "$marker" "$conf/containers.conf" ||
  [ "$(cat "$conf/containers.conf")" = $'[engine]\nruntime = "runc"' ]; then
  install -d -o "$user" -g "$user" "$home/.config" "$conf"
  printf '%s\n[containers]\nkeyring = false\n' "$marker" >"$conf/containers.conf"
  chown "$user:$user" "$conf/containers.conf"
else
  log "leaving $conf/containers.conf as it is (not ours); it needs keyring = false under [containers]"
fi
log "ready: user $user (uid $uid), XDG_RUNTIME_DIR=$runtime_dir"
