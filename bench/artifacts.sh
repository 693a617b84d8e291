#!/usr/bin/env bash
# Artifacts through the MLflow client: millrace's artifact proxy (release), with its files on the
# local disk and on S3 (the s3s-fs test server), against `mlflow server --serve-artifacts`, on
# loopback with the same files. Prints upload and download MB/s of a 1 GB file, millrace's peak
# memory, and the time to list a run of 10,000 files.
# Smaller runs: BENCH_ARTIFACT_MB=200 BENCH_LIST_FILES=2000 bench/artifacts.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/millrace-target}"
VENV="$HOME/.cache/millrace-bench-mlflow"
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/pip" show --quiet mlflow 2>/dev/null; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "mlflow==3.17.2"
fi
source scripts/s3.sh
cargo build --release -p server --bin millrace
MILLRACE_BIN="$CARGO_TARGET_DIR/release/millrace" MLFLOW_BIN="$VENV/bin/mlflow" \
  "$VENV/bin/python" -P bench/artifacts.py
