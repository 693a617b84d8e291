#!/usr/bin/env bash
# Runs every test: unit and store tests (SQLite and PostgreSQL), the REST tests, the official
# MLflow client against a running server, and the browser tests in Chromium. PostgreSQL is expected on 127.0.0.1:5432 (database `test`, trust auth);
# MILLRACE_TEST_POSTGRES points elsewhere.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
source scripts/setup.sh

# The site first: with hashed asset names, every page the server renders (the runner tests read
# some) needs the hash file this build writes beside the binary.
step "building the site"
cargo leptos build

step "unit, store and API tests"
# cargo-leptos builds debug code with this flag (and adds it itself, so it is not exported):
# the tests and the site then share one set of compiled crates instead of building twice.
RUSTFLAGS="--cfg erase_components" cargo test --workspace

export MILLRACE_BIN="$CARGO_TARGET_DIR/debug/millrace"

step "the official MLflow client against millrace serve"
"$VENV/bin/pytest" -q tests/mlflow

step "browser tests (Chromium, hydrated and without JavaScript)"
cd end2end
npx playwright test
