#!/bin/sh
# Deletes pool machine $1 made by local-create.sh: stops its runner. Deleting a machine that is
# already gone succeeds, as a cloud's delete of a missing VM should be retried into success.
set -eu
name="$1"
state="$(dirname "$0")/machines"
mkdir -p "$state"
if [ -f "$state/$name/pid" ]; then
    kill -KILL "$(cat "$state/$name/pid")" 2>/dev/null || true
    rm "$state/$name/pid"
fi
echo "$name" >>"$state/deleted"
echo "deleted $name"
