#!/usr/bin/env bash
# The job queue over HTTP (release build; SQLite, or the empty database BENCH_DATABASE names):
# queue-to-start latency on an idle runner, lease throughput with 50 runners polling (and that
# no job is leased twice), a lease pass past 10,000 queued jobs that do not fit (by label, by GPU
# memory), and log streaming from a chatty job. Prints its figures; the machine is shared and
# noisy: read medians.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/millrace-target}"
cargo build --release -p server --bin millrace
MILLRACE_BIN="$CARGO_TARGET_DIR/release/millrace" python3 bench/queue.py
