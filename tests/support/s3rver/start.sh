#!/bin/sh
# start.sh STATE_DIR — the s3_server test fixture's setup: installs s3rver (the version pinned in
# package.json and package-lock.json) with npm here, and starts run.js on 127.0.0.1 with its data
# in STATE_DIR/data, the chosen port in STATE_DIR/port and its pid in STATE_DIR/pid. The S3 bucket
# "cicada-test" exists from the start. Without node or npm it starts nothing and says why in
# STATE_DIR/unavailable: the S3 tests then skip (exit 77) with that reason.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
state=${1:?usage: start.sh STATE_DIR}
mkdir -p "$state"
state=$(cd "$state" && pwd)
if [ -f "$state/pid" ]; then   # a server left by an interrupted run
    kill "$(cat "$state/pid")" 2>/dev/null || true
    rm -f "$state/pid"
fi
rm -rf "$state/data" "$state/port" "$state/unavailable"
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    echo "node and npm are not installed (apt-get install nodejs npm): no S3-compatible test server" >"$state/unavailable"
    cat "$state/unavailable"
    exit 0
fi
cd "$here"
npm install --no-audit --no-fund --loglevel=error
# detached, with every stream redirected: CTest must not wait for the server's output
nohup node "$here/run.js" "$state/data" "$state/port" cicada-test </dev/null >"$state/s3rver.log" 2>&1 &
echo $! >"$state/pid"
i=0
while [ ! -s "$state/port" ]; do
    if ! kill -0 "$(cat "$state/pid")" 2>/dev/null || [ $i -ge 300 ]; then
        echo "s3rver did not start:" >&2
        cat "$state/s3rver.log" >&2
        exit 1
    fi
    sleep 0.1
    i=$((i + 1))
done
echo "s3rver listening on 127.0.0.1:$(cat "$state/port") (pid $(cat "$state/pid"), data in $state/data)"
