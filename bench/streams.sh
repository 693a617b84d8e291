#!/usr/bin/env bash
# 2,000 event-stream clients over two replicas on PostgreSQL (127.0.0.1:5432, database test)
# while 100,000 points/s are logged: every client receives every event, delivery delay, and
# memory per replica. Builds millrace in release; uses the MLflow client's venv for `requests`.
# Smaller: BENCH_STREAM_CLIENTS=200 BENCH_SECONDS=5 bench/streams.sh
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
cargo build --release -p server --bin millrace
MILLRACE_BIN="$CARGO_TARGET_DIR/release/millrace" "$VENV/bin/python" -P bench/streams.py
