#!/usr/bin/env bash
# Pool scheduler decision time (release build): one pass over 20 pools with 10,000 queued jobs,
# median and p90 of 200 passes. BENCH_DATABASE=postgres://... runs it on PostgreSQL instead of
# a fresh SQLite file (use a database of its own: the bench fills it).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/millrace-target}"
cargo bench -p server --bench pools
