#!/usr/bin/env bash
# Pipelines (release build, SQLite, real server and runner): a step's end to its dependent's
# start, and a 1,000-step pipeline's apply time and DAG view; see bench/pipelines.py.
# Usage: bench/pipelines.sh   (MILLRACE_BIN=path skips the release build)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
# The toolchain, and wasm-opt for the release build of the site.
source scripts/setup.sh
if [ -z "${MILLRACE_BIN:-}" ]; then
  step "building millrace (release)"
  cargo leptos build --release --split
fi
MILLRACE_BIN="${MILLRACE_BIN:-$CARGO_TARGET_DIR/release/millrace}" python3 bench/pipelines.py
