#!/usr/bin/env bash
# The demo: installs what is missing, builds agent_demo and northstar-local, starts
# `northstar-local serve` on a free 127.0.0.1 port with a temporary database and a fresh API key,
# runs the example agent against it (console + JSON-lines file + NorthStar sink), prints the
# stored run/span tree and the URL of the run's page in the dashboard. On a terminal the server
# then stays up (so the page can be opened) until Enter or Ctrl-C; otherwise it stops at once. It
# is stopped on error or Ctrl-C too.
#   scripts/demo.sh [BUILD_DIR]      (default: build)
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir="${1:-build}"

scripts/setup.sh
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DDAGSTACK_LOGGER_BUILD_TOOLS=ON -DDAGSTACK_LOGGER_BUILD_EXAMPLES=ON
cmake --build "$build_dir" -j "$(nproc 2>/dev/null || echo 2)" --target agent_demo northstar-local

server_bin="$build_dir/tools/northstar_local/northstar-local"
demo_bin="$build_dir/examples/agent_demo"
jsonl="$build_dir/agent_demo.jsonl"
work="$(mktemp -d "${TMPDIR:-/tmp}/agent-demo.XXXXXX")"
key="ns_demo_$(head -c 24 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')"
server_pid=""

cleanup() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

"$server_bin" serve --db "$work/northstar.db" --port 0 --api-key "$key" --port-file "$work/port" --quiet \
  >"$work/server.log" 2>&1 &
server_pid=$!

for _ in $(seq 1 100); do
  [ -s "$work/port" ] && break
  if ! kill -0 "$server_pid" 2>/dev/null; then
    echo "demo: northstar-local did not start:" >&2
    cat "$work/server.log" >&2
    exit 1
  fi
  sleep 0.1
done
if [ ! -s "$work/port" ]; then
  echo "demo: northstar-local did not report its port within 10 s" >&2
  exit 1
fi
port="$(cat "$work/port")"
echo "demo: northstar-local listening on 127.0.0.1:$port"

rm -f "$jsonl"
status=0
NORTHSTAR_ENDPOINT="http://127.0.0.1:$port/functions/v1/ingest-traces" \
NORTHSTAR_API_KEY="$key" \
NORTHSTAR_PROJECT="agent-demo" \
NORTHSTAR_ENVIRONMENT="local" \
  "$demo_bin" "$jsonl" || status=$?

echo
echo "demo: what northstar-local stored (northstar-local tree):"
"$server_bin" tree --db "$work/northstar.db"
echo "demo: JSON-lines records of the same run in $jsonl"
run_id="$(curl -s --noproxy '*' "http://127.0.0.1:$port/api/runs?limit=1" |
  python3 -c 'import json, sys; runs = json.load(sys.stdin)["runs"]; print(runs[0]["id"] if runs else "")' 2>/dev/null || true)"
if [ -n "$run_id" ]; then
  echo "demo: the run in the dashboard: http://127.0.0.1:$port/#/run/$run_id"
else
  echo "demo: the dashboard: http://127.0.0.1:$port/"
fi
if [ -t 0 ] && [ -t 1 ]; then
  echo "demo: northstar-local keeps serving; press Enter or Ctrl-C to stop it"
  read -r _ || true
fi
exit "$status"
