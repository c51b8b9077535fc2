#!/usr/bin/env bash
# Starts a throw-away PostgreSQL server on a free loopback port for the tests.
#   eval "$(scripts/test-postgres.sh start)"   -> exports OFFICE360_TEST_PG (a server URL) and
#                                                OFFICE360_TEST_PG_DIR
#   scripts/test-postgres.sh stop DIR
set -euo pipefail

find_bin() {
    if command -v "$1" >/dev/null 2>&1; then command -v "$1"; return; fi
    local found
    found=$(find /usr/lib/postgresql -path "*/bin/$1" 2>/dev/null | sort -V | tail -n 1)
    [ -n "$found" ] && echo "$found"
}

as_owner() {
    # initdb and postgres refuse to run as root
    if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "${1:-}" in
start)
    initdb=$(find_bin initdb) || true
    pg_ctl=$(find_bin pg_ctl) || true
    if [ -z "${initdb:-}" ] || [ -z "${pg_ctl:-}" ]; then
        echo "echo 'PostgreSQL server binaries not found (Debian package postgresql); PostgreSQL tests skipped' >&2"
        exit 0
    fi
    dir=$(mktemp -d /tmp/office360-pg.XXXXXX)
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    [ "$(id -u)" -eq 0 ] && chown postgres: "$dir"
    as_owner "$initdb" -D "$dir/data" -A trust -U postgres -E UTF8 --no-locale >"$dir/initdb.log" 2>&1
    as_owner "$pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start \
        -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300" \
        >/dev/null
    echo "export OFFICE360_TEST_PG='postgresql+psycopg://postgres@127.0.0.1:$port/postgres'"
    echo "export OFFICE360_TEST_PG_DIR='$dir'"
    ;;
stop)
    dir=${2:?usage: test-postgres.sh stop DIR}
    pg_ctl=$(find_bin pg_ctl)
    as_owner "$pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$dir"
    ;;
*)
    echo "usage: $0 start | stop DIR" >&2
    exit 2
    ;;
esac
