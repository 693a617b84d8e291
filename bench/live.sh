#!/usr/bin/env bash
# Live updates (release build, SQLite, loopback): event latency from an API write to the DOM
# (median and p99 over 200 points, Chromium), and 500 server-sent-event clients while points are
# logged at about 100,000 per second (server CPU and memory, every client got every event).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
source scripts/setup.sh

step "building millrace (release)"
cargo leptos build --release --split 2>cargo leptos build --release 2>&11 | tail -n 2
BIN="$CARGO_TARGET_DIR/release/millrace"
WORK=$(mktemp -d)
DB="sqlite://$WORK/live.db"
"$BIN" demo --users 2 --projects 2 --jobs 20 --long-series 100 --database "$DB" >/dev/null
TOKEN=$("$BIN" token create --user alice --database "$DB" 2>/dev/null)
PORT=3388
"$BIN" serve --addr "127.0.0.1:$PORT" --database "$DB" >/dev/null 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; rm -rf "$WORK"' EXIT
for _ in $(seq 1 100); do curl -s -o /dev/null "http://127.0.0.1:$PORT/healthz" && break; sleep 0.1; done
PROJECT="alice/$(curl -s -H "Authorization: Bearer $TOKEN" -H 'content-type: application/json' \
  -d '{"name": "live-bench"}' "http://127.0.0.1:$PORT/api/2.0/mlflow/experiments/create" >/dev/null && echo live-bench)"
export MILLRACE_TOKEN="$TOKEN" PLAYWRIGHT_MODULE="$ROOT/end2end/node_modules/@playwright/test"

step "event latency, API write to DOM"
node bench/live.cjs "http://127.0.0.1:$PORT" "$PROJECT"
step "fan-out to 500 SSE clients while logging"
python3 bench/live.py "$PORT" "$PROJECT" "$SERVER"
