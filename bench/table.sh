#!/usr/bin/env bash
# The project table view (release build, SQLite): pages of 100 rows out of 100,000 jobs at the
# top, middle and end for three sorts, and the column chooser's search among 10,000 keys. The
# database is made once and kept in ~/.cache.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/millrace-target}"
cargo bench -p server --bench table
