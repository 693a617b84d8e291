#!/usr/bin/env bash
# The web app in Chromium (release build): the hydrate bundle's size after wasm-opt (raw and
# brotli), and the time from navigation start to the users, projects and jobs columns showing
# their rows, on loopback and across a simulated 250 ms round trip (../shared/tools/rtt.sh,
# needs root). Demo data with 20,000 jobs, made once and kept in ~/.cache.
# Usage: bench/web.sh [RTT_MS ...]   (default: 0 250)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
source scripts/setup.sh
RTTS=("$@")
[ ${#RTTS[@]} -gt 0 ] || RTTS=(0 250)

step "building millrace (release)"
cargo leptos build --release 2>&1 | tail -n 2
BIN="$CARGO_TARGET_DIR/release/millrace"

step "bundle"
node -e '
  const fs = require("fs"), zlib = require("zlib");
  let raw = 0, br = 0;
  for (const file of process.argv.slice(1)) {
    const data = fs.readFileSync(file);
    const size = zlib.brotliCompressSync(data, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 11 } }).length;
    raw += data.length; br += size;
    console.log(`  ${file.split("/").pop()}: ${data.length.toLocaleString("en")} bytes, brotli ${size.toLocaleString("en")}`);
  }
  console.log(`  hydrate bundle (wasm + JS): ${(raw / 1024).toFixed(0)} KB raw, ${(br / 1024).toFixed(0)} KB brotli`);
' target/site/pkg/millrace.wasm target/site/pkg/millrace.js

DB_FILE="$HOME/.cache/millrace-bench-web-20000.db"
if [ ! -f "$DB_FILE" ]; then
  step "demo data with 20,000 jobs"
  "$BIN" demo --jobs 20000 --long-series 1000 --database "sqlite://$DB_FILE"
fi
DB="sqlite://$DB_FILE"
TOKEN=$("$BIN" token create --user alice --database "$DB" 2>/dev/null)
export MILLRACE_TOKEN="$TOKEN" PLAYWRIGHT_MODULE="$ROOT/end2end/node_modules/@playwright/test"
PORT=3377
if [[ " ${RTTS[*]} " != " 0 " ]] && ! command -v ping >/dev/null; then
  step "installing ping, which rtt.sh uses to check the link"
  apt-get install -y -qq iputils-ping >/dev/null
fi
for RTT in "${RTTS[@]}"; do
  step "time to three columns, RTT $RTT ms"
  if [ "$RTT" = 0 ]; then
    "$BIN" serve --addr "127.0.0.1:$PORT" --database "$DB" >/dev/null 2>&1 &
    SERVER=$!
    for _ in $(seq 1 100); do curl -s -o /dev/null "http://127.0.0.1:$PORT/healthz" && break; sleep 0.1; done
    node bench/web.cjs "http://127.0.0.1:$PORT" 0 || true
    kill "$SERVER"; wait "$SERVER" 2>/dev/null || true
  else
    bash ../shared/tools/rtt.sh "$RTT" "$PORT" \
      "exec $BIN serve --addr \$RTT_SERVER_IP:\$PORT --database $DB" \
      "node $ROOT/bench/web.cjs \$RTT_SERVER_URL \$RTT_MS"
  fi
done
