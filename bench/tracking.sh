#!/usr/bin/env bash
# MLflow-protocol benchmark: millrace (release) against the MLflow server and FastTrackML, all
# on loopback with the same load. Installs the peers from PyPI into their own venv (pinned),
# builds millrace in release, prints points/s, latencies, ratios.
# Smaller runs: BENCH_SEARCH_RUNS=2000 BENCH_HISTORY_POINTS=200000 bench/tracking.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/millrace-target}"
# The two peers pin conflicting dependencies, so each gets its own venv.
install() { # VENV PACKAGE
  if [ ! -x "$1/bin/python" ] || ! "$1/bin/pip" show --quiet "${2%%==*}" 2>/dev/null; then
    python3 -m venv "$1"
    "$1/bin/pip" install --quiet --disable-pip-version-check "$2"
  fi
}
install "$HOME/.cache/millrace-bench-mlflow" "mlflow==3.17.2"
install "$HOME/.cache/millrace-bench-fml" "fasttrackml==0.6.0"
cargo build --release -p server --bin millrace
# -P: without it bench/queue.py shadows the standard library's queue module, which requests needs.
MILLRACE_BIN="$CARGO_TARGET_DIR/release/millrace" \
MLFLOW_BIN="$HOME/.cache/millrace-bench-mlflow/bin/mlflow" \
FML_BIN="$HOME/.cache/millrace-bench-fml/bin/fml" \
  "$HOME/.cache/millrace-bench-mlflow/bin/python" -P bench/tracking.py
