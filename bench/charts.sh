#!/usr/bin/env bash
# Chart downsampling (release build, SQLite): a 10,000,000-point series read from the store and
# downsampled to a 2,000-pixel panel; the database is made once and kept in ~/.cache.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/millrace-target}"
cargo bench -p server --bench charts
