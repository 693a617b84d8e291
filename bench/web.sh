#!/usr/bin/env bash
# The web app as a new user gets it (release build): the hydrate bundle as built and as sent
# (brotli, made at build time), then cold and warm loads of a 20,000-job project in Chromium
# with Chromium's own throttling (250 ms round trip, 20 Mbit/s down): when the rows show, when
# the page is quiet, and the bytes sent. Demo data made once and kept in ~/.cache.
# Usage: bench/web.sh   (RTT_MS, DOWN_MBIT and BENCH_RUNS change the defaults)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
source scripts/setup.sh

step "building millrace (release, assets precompressed)"
cargo leptos build --release --precompress --split 2>&1 | tail -n 2
BIN="$CARGO_TARGET_DIR/release/millrace"

step "bundle"
PKG=target/site/pkg
for file in $PKG/millrace.*.wasm $PKG/millrace.*.js $PKG/__wasm_split.*.js; do
  [ -f "$file.br" ] || { echo "no $file.br: was the build precompressed?" >&2; exit 1; }
  printf '  %s: %s bytes, brotli %s bytes as sent\n' "${file##*/}" \
    "$(stat -c %s "$file")" "$(stat -c %s "$file.br")"
done
# The first chunk: what every page loads before it hydrates.
raw=$(cat $PKG/millrace.*.wasm $PKG/millrace.*.js $PKG/__wasm_split.*.js | wc -c)
br=$(cat $PKG/millrace.*.wasm.br $PKG/millrace.*.js.br $PKG/__wasm_split.*.js.br | wc -c)
echo "  first chunk (wasm + JS): $((raw / 1024)) KB raw, $((br / 1024)) KB brotli"
# Each lazily loaded view: the chunks the split manifest lists for it, some shared with others.
python3 - "$PKG" <<'PY'
import glob, json, os, sys
pkg = sys.argv[1]
manifest = json.load(open(glob.glob(f"{pkg}/__wasm_split_manifest.*.json")[0]))
for view, chunks in sorted(manifest.items()):
    sizes = [os.path.getsize(f"{pkg}/{chunk}.wasm.br") for chunk in chunks]
    print(f"  view {view.rsplit('_', 1)[0]}: {len(chunks)} chunks, {sum(sizes) // 1024} KB brotli")
PY

DB_FILE="$HOME/.cache/millrace-bench-web-20000.db"
if [ ! -f "$DB_FILE" ]; then
  step "demo data with 20,000 jobs"
  "$BIN" demo --jobs 20000 --long-series 1000 --database "sqlite://$DB_FILE"
fi
DB="sqlite://$DB_FILE"
TOKEN=$("$BIN" token create --user alice --database "$DB" 2>/dev/null)
export MILLRACE_TOKEN="$TOKEN" PLAYWRIGHT_MODULE="$ROOT/end2end/node_modules/@playwright/test"
PORT=3377
step "cold and warm loads"
"$BIN" serve --addr "127.0.0.1:$PORT" --database "$DB" >/dev/null 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do curl -s -o /dev/null "http://127.0.0.1:$PORT/healthz" && break; sleep 0.1; done
node bench/web.cjs "http://127.0.0.1:$PORT"
