#!/usr/bin/env bash
# Column server functions over HTTP (release build, SQLite): median and p99 latency of one page
# of the jobs column with 1,000,000 jobs in the project, for every sort, first page and 10,000
# rows deep. The 1M-job database is made once with `millrace demo` and kept in ~/.cache.
# On PostgreSQL with 10,000,000 jobs (the demo makes 500,000, SQL copies them; about 20 minutes
# once, then the schema is kept until dropped):
#   psql postgres://postgres@127.0.0.1:5432/test -c 'CREATE SCHEMA bench_columns'
#   BENCH_JOBS=10000000 BENCH_COLUMNS_DATABASE='postgres://postgres@127.0.0.1:5432/test?options=-c%20search_path%3Dbench_columns' bench/columns.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/millrace-target}"
cargo build --release -p server --bin millrace
MILLRACE_BIN="$CARGO_TARGET_DIR/release/millrace" python3 bench/columns.py
