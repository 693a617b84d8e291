#!/bin/sh
# Creates pool machine $1 on this machine: a `millrace runner` process in the background.
# The provider the tests use; also a way to try pools before a cloud (docs/pools.md).
# The server gives MILLRACE_SERVER, MILLRACE_TOKEN (a runner token for this machine alone) and
# MILLRACE_MACHINE; `millrace` and `nvidia-smi` are found on the server's PATH.
set -eu
name="$1"
state="$(dirname "$0")/machines"
mkdir -p "$state/$name"
MILLRACE_RUNNER_TOKEN="$MILLRACE_TOKEN" setsid millrace runner \
    --server "$MILLRACE_SERVER" --name "$name" --gpus auto --grace 1s \
    --workdir "$state/$name/work" >"$state/$name/runner.log" 2>&1 </dev/null &
echo $! >"$state/$name/pid"
echo "started runner $name (pid $!)"
