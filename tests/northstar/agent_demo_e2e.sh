#!/usr/bin/env bash
# agent_demo_e2e.sh SERVER_BIN DEMO_BIN FAIL_FIRST
# Starts northstar-local on a free 127.0.0.1 port, optionally makes it fail the first
# FAIL_FIRST ingest requests with 503, runs agent_demo against it through NORTHSTAR_* and checks
# what arrived: exit 0, every run and span ended, model spans with tokens, run totals and
# latency_ms, valid v4 UUIDs, nothing rejected.
set -euo pipefail
server="$1" demo="$2" fail_first="${3:-0}"
work="$(mktemp -d)"
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
"$server" serve --db "$work/db" --port 0 --api-key ns_e2e_key --port-file "$work/port" --quiet \
  >"$work/server.log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do [ -s "$work/port" ] && break; sleep 0.1; done
port="$(cat "$work/port")"
if [ "$fail_first" -gt 0 ]; then
  curl -sf -X POST "http://127.0.0.1:$port/__admin/faults" -H 'Authorization: Bearer ns_e2e_key' \
    -H 'Content-Type: application/json' -d "{\"fail_next\":$fail_first,\"status\":503}" >/dev/null
fi
NORTHSTAR_ENDPOINT="http://127.0.0.1:$port/functions/v1/ingest-traces" NORTHSTAR_API_KEY=ns_e2e_key \
  "$demo" "$work/demo.jsonl" >/dev/null 2>"$work/demo.err" || { cat "$work/demo.err" >&2; exit 1; }
curl -sf -H 'Authorization: Bearer ns_e2e_key' "http://127.0.0.1:$port/__admin/requests" >"$work/requests.json"
"$server" dump --db "$work/db" >"$work/dump.jsonl"
python3 - "$work/dump.jsonl" "$work/requests.json" "$fail_first" <<'PY'
import json, re, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
requests = json.load(open(sys.argv[2]))
requests = requests if isinstance(requests, list) else requests.get("requests", [])
fail_first = int(sys.argv[3])
statuses = [r.get("status") for r in requests]
uuid4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
by = {}
for r in rows:
    by.setdefault(r["table"], []).append(r)
runs, spans, events = by.get("runs", []), by.get("spans", []), by.get("events", [])
problems = []
if statuses[:fail_first] != [503] * fail_first: problems.append(f"statuses {statuses}")
if any(s != 200 for s in statuses[fail_first:]): problems.append(f"rejected: {statuses}")
if len(runs) != 1: problems.append(f"{len(runs)} runs")
if len(spans) < 7: problems.append(f"{len(spans)} spans")
if len(events) < 20: problems.append(f"{len(events)} events")
for r in runs:
    md = r.get("metadata") or {}
    for k in ("cost_usd", "total_input_tokens", "total_output_tokens", "latency_ms"):
        if k not in md: problems.append(f"run metadata lacks {k}")
    if not r.get("ended_at"): problems.append("run not ended")
for s in spans:
    if not s.get("ended_at"): problems.append(f"span {s.get('name')} not ended")
    if "latency_ms" not in (s.get("attributes") or {}): problems.append(f"span {s.get('name')} lacks latency_ms")
model = [s for s in spans if s.get("kind") == "model"]
if not model: problems.append("no model span")
for s in model:
    a = s.get("attributes") or {}
    if not a.get("input_tokens") or not a.get("output_tokens") or "latency_ms" not in a:
        problems.append(f"model span without tokens: {s}")
for r in runs + spans + events:
    if not uuid4.match(r["id"]): problems.append(f"not a v4 uuid: {r['id']}")
if problems:
    print("\n".join(problems[:20])); sys.exit(1)
print(f"ok: {len(runs)} run, {len(spans)} spans, {len(events)} events, requests {statuses}")
PY
