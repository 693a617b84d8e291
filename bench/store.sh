#!/usr/bin/env bash
# Store benchmarks on SQLite (release build): demo ingestion rate, and jobs-column page
# latency for every sort with 1,000,000 jobs in one project. Prints its figures; takes a few
# minutes. The machine is shared and noisy: read medians, compare within one run.
# Usage: bench/store.sh [ingestion|pages]
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/millrace-target}"
cargo bench -p server --bench store -- "$@"
