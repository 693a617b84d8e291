#!/usr/bin/env bash
# Runs every test: unit and store tests (SQLite and PostgreSQL), the REST tests, the official
# MLflow client against a running server, and the browser tests in Chromium on SQLite and on
# PostgreSQL. PostgreSQL is expected on 127.0.0.1:5432 (database `test`, trust auth);
# MILLRACE_TEST_POSTGRES points elsewhere. The S3 test server is started here (scripts/s3.sh).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
source scripts/setup.sh
# The S3-compatible server the file-store tests also run against, on loopback.
source scripts/s3.sh

# The site first: with hashed asset names, every page the server renders (the runner tests read
# some) needs the hash file this build writes beside the binary. Split as in release, so the
# browser tests load the lazily loaded views the way users do.
step "building the site"
cargo leptos build --split

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

step "the browser tests again, on PostgreSQL (a schema of their own)"
PG="${MILLRACE_TEST_POSTGRES:-postgres://postgres@127.0.0.1:5432/test}"
SCHEMA="millrace_e2e_$$"
psql "$PG" -qc "CREATE SCHEMA $SCHEMA"
trap 'psql "$PG" -qc "DROP SCHEMA IF EXISTS $SCHEMA CASCADE" >/dev/null 2>&1' EXIT
if [[ "$PG" == *\?* ]]; then JOINER='&'; else JOINER='?'; fi
MILLRACE_E2E_DATABASE="$PG${JOINER}options=-c%20search_path%3D$SCHEMA" npx playwright test
