#!/usr/bin/env bash
# Sweep suggestions (release build, no database): how long TPE takes to suggest the next trial
# after 1,000 finished trials over six parameters, median and p99 of 100 suggestions.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/millrace-target}"
cargo bench -p server --bench sweep
