#!/usr/bin/env bash
# Pipelines (release build, SQLite, real server and runner): a step's end to its dependent's
# start, and a 1,000-step pipeline's apply time and DAG view; see bench/pipelines.py.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/millrace-target}"
cargo leptos build --release --split
MILLRACE_BIN="$CARGO_TARGET_DIR/release/millrace" python3 bench/pipelines.py
