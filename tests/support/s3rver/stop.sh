#!/bin/sh
# stop.sh STATE_DIR — the s3_server test fixture's cleanup: stops the s3rver start.sh started
# (SIGTERM, then SIGKILL after 10 s) and removes its data.
set -u
state=${1:?usage: stop.sh STATE_DIR}
if [ -f "$state/pid" ]; then
    pid=$(cat "$state/pid")
    kill "$pid" 2>/dev/null
    i=0
    while kill -0 "$pid" 2>/dev/null && [ $i -lt 100 ]; do
        sleep 0.1
        i=$((i + 1))
    done
    kill -9 "$pid" 2>/dev/null
    rm -f "$state/pid"
fi
rm -rf "$state/data" "$state/port"
exit 0
