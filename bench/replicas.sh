#!/usr/bin/env bash
# Replicas on PostgreSQL (127.0.0.1:5432, database test; MILLRACE_TEST_POSTGRES elsewhere):
# log-batch ingestion through one replica and through two, with server CPU, and leader
# failover time. Builds millrace in release; uses the MLflow client's venv for `requests`.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
cargo build --release -p server --bin millrace
# -P: without it bench/queue.py shadows the standard library's queue module, which requests needs.
MILLRACE_BIN="$CARGO_TARGET_DIR/release/millrace" "$VENV/bin/python" -P bench/replicas.py
