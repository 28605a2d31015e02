#!/usr/bin/env bash
# pg.sh — a throw-away PostgreSQL 15 server for the tests: `pg.sh start DIR` creates a cluster in
# DIR (initdb), listening on a unix socket in DIR only (no TCP), with fsync and synchronous_commit
# on so durability is what production gets, starts it and prints the connection string the tests
# use (CICADA_TEST_PG); `pg.sh stop DIR` stops it. As root the server runs as the postgres user
# (runuser); otherwise as the current user. The superuser role is always named postgres, so the
# tests connect as user postgres either way. Local connections are trusted, except for the role
# cicada_pw, which must give a password (scram), so the tests can see a refused login.
# Exit 77 (skip) when PostgreSQL 15 is not installed.
set -euo pipefail

BIN=/usr/lib/postgresql/15/bin
cmd=${1:-}
dir=${2:-}
if [[ -z "$cmd" || -z "$dir" ]]; then
  echo "usage: pg.sh start|stop DIR" >&2
  exit 2
fi
if [[ ! -x "$BIN/initdb" || ! -x "$BIN/pg_ctl" ]]; then
  echo "skip: PostgreSQL 15 is not installed ($BIN/initdb missing; apt-get install postgresql-15)" >&2
  exit 77
fi

as_owner() {
  if [[ $(id -u) -eq 0 ]]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

stop() {
  if [[ -f "$dir/data/postmaster.pid" ]]; then
    as_owner "$BIN/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
  fi
}

case "$cmd" in
start)
  stop
  rm -rf "$dir"
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  # a unix socket path holds at most 107 bytes
  if (( ${#dir} + 16 > 107 )); then
    echo "pg.sh: $dir is too long for a unix socket path" >&2
    exit 1
  fi
  if [[ $(id -u) -eq 0 ]]; then
    if ! getent passwd postgres >/dev/null; then
      echo "pg.sh: running as root needs the postgres user (installed with postgresql-15)" >&2
      exit 1
    fi
    chown postgres: "$dir"
  fi
  as_owner "$BIN/initdb" -D "$dir/data" -U postgres --auth=trust --encoding=UTF8 --locale=C \
    >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
  # the scram line first: pg_hba.conf is read top down
  as_owner bash -c "printf '%s\n' 'local all cicada_pw scram-sha-256' 'local all all trust' > '$dir/data/pg_hba.conf'"
  as_owner "$BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start \
    -o "-c listen_addresses='' -c unix_socket_directories='$dir' -c fsync=on -c synchronous_commit=on -c max_connections=300 -c shared_buffers=64MB" \
    >/dev/null || { cat "$dir/server.log" >&2; exit 1; }
  echo "host=$dir dbname=postgres user=postgres"
  ;;
stop)
  stop
  ;;
*)
  echo "usage: pg.sh start|stop DIR" >&2
  exit 2
  ;;
esac
