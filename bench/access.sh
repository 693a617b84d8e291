#!/usr/bin/env bash
# What the permission check adds to a request (release build): the caller and write check of a
# job route against the lookups the route made before roles, on SQLite with 100,000 jobs.
# Prints medians; the machine is shared and noisy, so the two are sampled alternately.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/millrace-target}"
cargo bench -p server --bench access
