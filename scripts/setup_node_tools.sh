#!/usr/bin/env bash
# Installs the npm packages the OTLP tests decode with into a scratch folder (default:
# build/otlp-node-tools): @opentelemetry/otlp-transformer@0.52.1, whose generated protobufjs code
# is the independent OTLP decoder. Needs node and npm (scripts/setup.sh installs them). Fails
# loudly when the registry cannot be reached: the OTLP tests must not pass without their decoder.
#
# Usage: scripts/setup_node_tools.sh [dir]
set -euo pipefail
dir="${1:-build/otlp-node-tools}"
package="@opentelemetry/otlp-transformer@0.52.1"
marker="$dir/node_modules/@opentelemetry/otlp-transformer/build/src/generated/root.js"

if [ -f "$marker" ]; then
  echo "setup_node_tools: $package is installed in $dir"
  exit 0
fi
for tool in node npm; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "setup_node_tools: $tool is missing; run scripts/setup.sh (it installs nodejs and npm)" >&2
    exit 1
  fi
done
mkdir -p "$dir"
# A lock so parallel builds (plain, sanitizer) sharing a folder do not race.
exec 9>"$dir/.install.lock"
flock 9
if [ ! -f "$marker" ]; then
  echo "setup_node_tools: installing $package into $dir"
  [ -f "$dir/package.json" ] || echo '{"name":"dagstack-otlp-test-tools","private":true}' >"$dir/package.json"
  if ! timeout 300 npm install --prefix "$dir" --no-audit --no-fund --ignore-scripts \
      "$package" >"$dir/npm-install.log" 2>&1; then
    cat "$dir/npm-install.log" >&2
    echo "setup_node_tools: npm install of $package failed (is the npm registry reachable?)" >&2
    exit 1
  fi
fi
test -f "$marker" || { echo "setup_node_tools: $marker missing after install" >&2; exit 1; }
echo "setup_node_tools: $package installed in $dir"
