#!/usr/bin/env bash
# Sign-in under load (release build, SQLite): how long refusing an unknown name takes against a
# wrong password (they must match, or timing tells which names exist), and what a storm of
# sign-ins does to the latency of other requests (argon2 runs off the async workers).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/millrace-target}"
cargo build --release -p server --bin millrace
MILLRACE_BIN="$CARGO_TARGET_DIR/release/millrace" python3 bench/login.py
