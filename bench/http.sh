#!/usr/bin/env bash
# bench/http.sh — GET /asr_jobs/<id> against a bare libmicrohttpd handler, and durable POST /asr_jobs,
# with wrk (keep-alive, 64 connections) on this machine. Usage: bench/http.sh [BUILD_DIR] [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
SECS=${2:-5}
CONNS=64
NB=8
cmake --build "$BUILD" --target cicada bare_mhd >/dev/null
( cd tests/integration && npm install --no-audit --no-fund --loglevel=error >/dev/null )
DATA=$(mktemp -d)
trap 'kill $SRV $BARE 2>/dev/null || true; rm -rf "$DATA"' EXIT
CICADA_LISTEN=127.0.0.1:18080 CICADA_DATA_DIR=$DATA CICADA_SECRET_ID=AKIDtestSecretId CICADA_SECRET_KEY=SK_TEST \
  CICADA_LOG=warn "$BUILD/cicada" serve >/dev/null & SRV=$!
"$BUILD/bench/bare_mhd" 18081 >/dev/null & BARE=$!
sleep 1
eval "$(node bench/prepare.js 18080 $NB)"
export NBUCKETS=$NB
for i in $(seq 0 $((NB - 1))); do export HOST_$i GET_PATH_$i GET_AUTH_$i POST_AUTH_$i POST_BODY_$i; done
run() { wrk -t4 -c$CONNS -d${SECS}s --latency -s bench/requests.lua "$1" | grep RESULT; }
echo "bare libmicrohttpd GET:   $(MODE=get run http://127.0.0.1:18081)"
echo "cicada GET /asr_jobs/<id>: $(MODE=get run http://127.0.0.1:18080)"
before=$(sqlite3 "$DATA/cicada.db" "select count(*) from jobs")
post=$(MODE=post SECS=$SECS run http://127.0.0.1:18080)
after=$(sqlite3 "$DATA/cicada.db" "select count(*) from jobs")
dur=$(echo "$post" | sed -E 's/.*duration_s=([0-9.]+).*/\1/')
echo "cicada POST /asr_jobs:     $post"
echo "durable jobs stored: $((after - before)) in ${dur}s = $(echo "($after - $before) / $dur" | bc) jobs/s"
