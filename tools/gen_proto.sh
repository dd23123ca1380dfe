#!/usr/bin/env bash
# Generates src/gen/ from proto/ with buf and protobuf-es v2 (`deno task gen`).
# The tools are pinned npm packages installed into .tmp/protogen (gitignored), not project dependencies;
# --ignore-scripts: the buf wrapper finds its platform binary without its postinstall step.
set -euo pipefail

BUF_VERSION=1.75.0
PROTOBUF_ES_VERSION=2.17.0

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools="$root/.tmp/protogen"
cd "$root"

marker="$tools/.installed-buf${BUF_VERSION}-es${PROTOBUF_ES_VERSION}"
if [[ ! -f "$marker" ]]; then
  rm -rf "$tools"
  mkdir -p "$tools"
  echo '{"private": true}' >"$tools/package.json"
  npm install --prefix "$tools" --no-audit --no-fund --save-exact --ignore-scripts --loglevel=error \
    "@bufbuild/buf@$BUF_VERSION" "@bufbuild/protoc-gen-es@$PROTOBUF_ES_VERSION" >&2
  touch "$marker"
fi

buf="$tools/node_modules/.bin/buf"
"$buf" build proto
"$buf" generate proto --template tools/buf.gen.yaml
echo "generated $(find src/gen -name '*_pb.ts' | sort | tr '\n' ' ')" >&2
