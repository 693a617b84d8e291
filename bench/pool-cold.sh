#!/usr/bin/env bash
# Queue-to-running on a cold pool (release build, SQLite): the local provider starts a runner
# for each job on an empty pool; prints the provider's part and millrace's part, medians of 10.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/millrace-target}"
cargo build --release -p server --bin millrace
MILLRACE_BIN="$CARGO_TARGET_DIR/release/millrace" python3 bench/pool-cold.py
