#!/usr/bin/env bash
# Builds millrace (release) and serves it on an embedded SQLite database filled with demo data.
# Usage: scripts/run.sh [extra flags for `millrace serve`], e.g. --addr 0.0.0.0:3000
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
source scripts/setup.sh

step "building millrace (release)"
cargo leptos build --release --precompress --split

DATABASE="${MILLRACE_DATABASE_URL:-sqlite://millrace.db}"
step "serving $DATABASE; the demo workspace is created on first start"
exec "$CARGO_TARGET_DIR/release/millrace" serve --demo --database "$DATABASE" "$@"
