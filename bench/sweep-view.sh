#!/usr/bin/env bash
# The sweep view with 1,000 trials: the server's time to answer its HTML (curl, no browser),
# and in Chromium the time from navigation start to the trials table having every row, to the
# first paint after it, and to hydration. Demo data with a 1,000-trial sweep (`millrace demo
# --sweep-trials 1000`, in alice/hpo-demo), made once and kept in ~/.cache.
# Usage: bench/sweep-view.sh   (MILLRACE_BIN=path skips the release build, e.g. a debug binary)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
source scripts/setup.sh

if [ -z "${MILLRACE_BIN:-}" ]; then
  step "building millrace (release)"
  cargo leptos build --release --split 2>cargo leptos build --release 2>&11 | tail -n 2
fi
BIN="${MILLRACE_BIN:-$CARGO_TARGET_DIR/release/millrace}"

DB_FILE="$HOME/.cache/millrace-bench-sweep-1000.db"
if [ ! -f "$DB_FILE" ]; then
  step "demo data with a 1,000-trial sweep"
  "$BIN" demo --jobs 300 --long-series 1000 --sweep-trials 1000 --database "sqlite://$DB_FILE"
fi
DB="sqlite://$DB_FILE"
TOKEN=$("$BIN" token create --user alice --database "$DB" 2>/dev/null)
export MILLRACE_TOKEN="$TOKEN" PLAYWRIGHT_MODULE="$ROOT/end2end/node_modules/@playwright/test"
PORT=3378
"$BIN" serve --addr "127.0.0.1:$PORT" --database "$DB" >/dev/null 2>&1 &
SERVER=$!
trap 'kill "$SERVER" 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do curl -s -o /dev/null "http://127.0.0.1:$PORT/healthz" && break; sleep 0.1; done
ID=$(curl -s -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT/api/v1/projects/alice/hpo-demo/sweeps" |
  node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).sweeps[0].id))')
URL="http://127.0.0.1:$PORT/u/alice/p/hpo-demo?pview=sweeps&sweep=$ID"

step "server: the view's HTML (5 runs)"
for _ in 1 2 3 4 5; do
  curl -s -o /dev/null -H "Authorization: Bearer $TOKEN" -w '  %{time_total}s, %{size_download} bytes\n' "$URL"
done

step "Chromium: navigation to 1,000 rows, to paint, to hydration"
node bench/sweep-view.cjs "$URL"
