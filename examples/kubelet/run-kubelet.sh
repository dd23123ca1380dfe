#!/usr/bin/env bash
# Starts kubelet inside cri-podman's node. Before it: cri-podman serving a node (`cri-podman serve --node`, or the
# cri-podman-node.service user unit). Settings (environment):
#   KUBELET          kubelet's executable (default: kubelet on PATH)
#   KUBECONFIG_FILE  how kubelet reaches the API server (required)
#   CRI_PODMAN       how to run cri-podman (default: cri-podman; from a checkout: "deno run -A mod.ts")
#   KUBELET_STATE    kubelet's folder (default: $XDG_DATA_HOME/cri-podman-kubelet, i.e. ~/.local/share/...)
# Extra arguments go to kubelet. The node's address is its slirp4netns one (10.0.2.100); pods reach the internet through
# slirp4netns, and nothing outside the node reaches in but through published host ports.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
runtime_dir="${XDG_RUNTIME_DIR:-/run/user/$(id -u)}"
state="${KUBELET_STATE:-${XDG_DATA_HOME:-$HOME/.local/share}/cri-podman-kubelet}"
: "${KUBECONFIG_FILE:?set KUBECONFIG_FILE to the kubeconfig kubelet uses to reach the API server}"
mkdir -p "$state/root" "$state/pod-logs"
sed -e "s#@RUNTIME_DIR@#$runtime_dir#g" -e "s#@STATE@#$state#g" "$here/kubelet-config.yaml" >"$state/config.yaml"
# shellcheck disable=SC2086 # CRI_PODMAN may be a command with arguments
exec ${CRI_PODMAN:-cri-podman} node -- "${KUBELET:-kubelet}" \
  --config="$state/config.yaml" \
  --root-dir="$state/root" \
  --kubeconfig="$KUBECONFIG_FILE" \
  --hostname-override="${KUBELET_NODE_NAME:-$(hostname)}" \
  --node-ip=10.0.2.100 \
  "$@"
