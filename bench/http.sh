#!/usr/bin/env bash
# bench/http.sh — GET /asr_jobs/<id> against a bare libmicrohttpd handler, and durable POST /asr_jobs,
# with wrk (keep-alive, 64 connections) on this machine.
# Usage: bench/http.sh [BUILD_DIR] [SECONDS] [PG_CONNINFO]
# With PG_CONNINFO (a libpq key=value string naming a server, e.g. "host=/tmp/pg user=postgres"),
# the same two measurements run next on a cicada whose store is a fresh database on that server
# (durable: synchronous_commit as the server has it, on by default), in the same run.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
SECS=${2:-5}
PG=${3:-}
CONNS=64
NB=8
cmake --build "$BUILD" --target cicada bare_mhd >/dev/null
( cd tests/integration && npm install --no-audit --no-fund --loglevel=error >/dev/null )
DATA=$(mktemp -d)
DATA_PG=$(mktemp -d)
DB=cicada_bench_$$
SRV=; BARE=
cleanup() {
  kill $SRV $BARE 2>/dev/null || true
  wait 2>/dev/null || true
  [ -n "$PG" ] && psql "$PG dbname=postgres" -XAtq -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$DATA" "$DATA_PG"
}
trap cleanup EXIT
run() { wrk -t4 -c$CONNS -d${SECS}s --latency -s bench/requests.lua "$1" | grep RESULT; }

# bench_server LABEL DATA_DIR PORT COUNT_SQL_COMMAND...: GET and durable POST against one server
bench_server() {
  local label=$1 port=$3
  shift 3
  sleep 1
  eval "$(node bench/prepare.js "$port" $NB)"
  export NBUCKETS=$NB
  for i in $(seq 0 $((NB - 1))); do export HOST_$i GET_PATH_$i GET_AUTH_$i POST_AUTH_$i POST_BODY_$i; done
  # warm-up, not measured: the first seconds of a fresh server open its database connections
  MODE=get wrk -t4 -c$CONNS -d2s -s bench/requests.lua "http://127.0.0.1:$port" >/dev/null
  echo "cicada ($label) GET /asr_jobs/<id>: $(MODE=get run http://127.0.0.1:$port)"
  local before after post dur
  before=$("$@")
  post=$(MODE=post SECS=$SECS run http://127.0.0.1:$port)
  after=$("$@")
  dur=$(echo "$post" | sed -E 's/.*duration_s=([0-9.]+).*/\1/')
  echo "cicada ($label) POST /asr_jobs:     $post"
  echo "cicada ($label) durable jobs stored: $((after - before)) in ${dur}s = $(echo "($after - $before) / $dur" | bc) jobs/s"
}

"$BUILD/bench/bare_mhd" 18081 >/dev/null & BARE=$!
sleep 0.5
echo "bare libmicrohttpd GET:   $(MODE=get run http://127.0.0.1:18081)"
kill $BARE; wait $BARE 2>/dev/null || true; BARE=

CICADA_LISTEN=127.0.0.1:18080 CICADA_DATA_DIR=$DATA CICADA_SECRET_ID=AKIDtestSecretId CICADA_SECRET_KEY=SK_TEST \
  CICADA_LOG=warn "$BUILD/cicada" serve >/dev/null & SRV=$!
bench_server sqlite "$DATA" 18080 sqlite3 "$DATA/cicada.db" "select count(*) from jobs"
kill $SRV; wait $SRV 2>/dev/null || true; SRV=

if [ -n "$PG" ]; then
  psql "$PG dbname=postgres" -XAtq -c "CREATE DATABASE $DB" >/dev/null
  echo "PostgreSQL: $(psql "$PG dbname=$DB" -XAtq -c 'SHOW server_version') synchronous_commit=$(psql "$PG dbname=$DB" -XAtq -c 'SHOW synchronous_commit') fsync=$(psql "$PG dbname=$DB" -XAtq -c 'SHOW fsync')"
  CICADA_LISTEN=127.0.0.1:18082 CICADA_DATA_DIR=$DATA_PG CICADA_SECRET_ID=AKIDtestSecretId CICADA_SECRET_KEY=SK_TEST \
    CICADA_DATABASE_URL="$PG dbname=$DB" CICADA_LOG=warn "$BUILD/cicada" serve >/dev/null & SRV=$!
  bench_server postgresql "$DATA_PG" 18082 psql "$PG dbname=$DB" -XAtq -c "select count(*) from jobs"
fi
