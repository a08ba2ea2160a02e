#!/usr/bin/env bash
# agent_demo_otlp_e2e.sh NODE NODE_MODULES AGENT_DEMO
# Runs examples/agent_demo with OTEL_EXPORTER_OTLP_ENDPOINT pointing at tests/otlp/otlp_receiver.js
# (NorthStar disabled) and checks that the receiver decoded the run's spans and logs.
set -euo pipefail
node="$1" modules="$2" demo="$3"
here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d)"
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
"$node" "$here/otlp_receiver.js" "$modules" "$work/ports" &
pid=$!
for _ in $(seq 1 300); do [ -f "$work/ports" ] && break; sleep 0.05; done
read -r data_port admin_port <"$work/ports"
OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:$data_port" OTEL_EXPORTER_OTLP_COMPRESSION=gzip \
  NORTHSTAR_ENABLED=false "$demo" "$work/demo.jsonl" >"$work/out.txt" 2>&1 || {
  cat "$work/out.txt" >&2
  echo "agent_demo failed" >&2
  exit 1
}
grep -E '^OTLP: [0-9]+ log records and [0-9]+ spans delivered' "$work/out.txt"
curl -sf -X POST "http://127.0.0.1:$admin_port/requests" >"$work/requests.json"
"$node" -e '
const reqs = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
const spans = [], logs = [];
for (const r of reqs) {
  if (r.status !== 200 || r.decodeError) throw new Error("bad request: " + JSON.stringify(r).slice(0, 300));
  for (const rs of (r.decoded.resourceSpans || [])) for (const ss of rs.scopeSpans) spans.push(...ss.spans);
  for (const rl of (r.decoded.resourceLogs || [])) for (const sl of rl.scopeLogs) logs.push(...sl.logRecords);
}
const names = new Set(spans.map((s) => s.name));
for (const n of ["travel-agent", "plan", "llm.chat", "book_table"])
  if (!names.has(n)) throw new Error("missing span " + n + " in " + [...names]);
const root = spans.find((s) => s.name === "travel-agent");
if (root.parentSpanId) throw new Error("the run span has a parent");
if (!spans.every((s) => s.traceId === root.traceId)) throw new Error("spans of several traces");
const failed = spans.filter((s) => s.name === "book_table" && s.status && s.status.code === 2);
if (failed.length !== 1) throw new Error("expected one failed book_table span, got " + failed.length);
if (!logs.some((l) => l.body && l.body.stringValue === "agent finished")) throw new Error("missing log");
console.log("agent_demo over OTLP: " + spans.length + " spans, " + logs.length + " log records decoded");
' "$work/requests.json"
