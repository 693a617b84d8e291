#!/usr/bin/env bash
# Starts the S3-compatible test server (s3s-fs, installed by scripts/setup.sh) on loopback if it
# is not answering already, with the bucket `millrace-test`, and exports MILLRACE_TEST_S3, its
# address; the tests sign with the keys below. Its objects are plain files under
# $MILLRACE_S3_ROOT (default ~/.cache/millrace-s3). Sourced by scripts/test.sh.
set -euo pipefail

export MILLRACE_TEST_S3="${MILLRACE_TEST_S3:-http://127.0.0.1:8014}"
S3_ROOT="${MILLRACE_S3_ROOT:-$HOME/.cache/millrace-s3}"
S3_PORT="${MILLRACE_TEST_S3##*:}"

mkdir -p "$S3_ROOT/millrace-test"
# Earlier runs' objects are only test data (each test writes under a prefix of its own): every
# run starts on an empty bucket, so they do not pile up.
find "$S3_ROOT/millrace-test" -mindepth 1 -delete
if ! curl -s -o /dev/null "$MILLRACE_TEST_S3"; then
  nohup s3s-fs --host 127.0.0.1 --port "$S3_PORT" \
    --access-key millrace-test --secret-key millrace-test-secret "$S3_ROOT" \
    > "$S3_ROOT/server.log" 2>&1 &
  for _ in $(seq 1 50); do curl -s -o /dev/null "$MILLRACE_TEST_S3" && break; sleep 0.1; done
  curl -s -o /dev/null "$MILLRACE_TEST_S3" || { echo "s3s-fs did not start: see $S3_ROOT/server.log" >&2; exit 1; }
fi
