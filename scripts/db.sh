#!/usr/bin/env bash
# The project-local PostGIS cluster used when DATABASE_URL is unset.
#   scripts/db.sh start   create (first time) and start the cluster, create the database
#   scripts/db.sh stop    stop it
#   scripts/db.sh status
# initdb and pg_ctl refuse to run as root, so as root they run as the `postgres` user.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

PGBIN=${SOSEDI_PGBIN:-/usr/lib/postgresql/15/bin}
PGPORT=${SOSEDI_PGPORT:-54329}
DBNAME=${SOSEDI_DBNAME:-sosedi}
DBUSER=${SOSEDI_DBUSER:-sosedi}

as_owner() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# The data directory lives in the checkout when the cluster's owner can reach it,
# otherwise under /var/lib/sosedi, keyed by the checkout's path.
pick_datadir() {
    if [ -n "${SOSEDI_PGDATA:-}" ]; then echo "$SOSEDI_PGDATA"; return; fi
    if [ "$(id -u)" != 0 ] || runuser -u postgres -- test -x "$ROOT"; then
        echo "$ROOT/.pgdata"
    else
        echo "/var/lib/sosedi/pg-$(printf %s "$ROOT" | sha1sum | cut -c1-12)"
    fi
}
PGDATA=$(pick_datadir)
LOG="$PGDATA/server.log"

init() {
    [ -f "$PGDATA/PG_VERSION" ] && return
    echo "sosedi: creating a PostGIS cluster in $PGDATA (port $PGPORT)"
    mkdir -p "$PGDATA"
    if [ "$(id -u)" = 0 ]; then chown postgres:postgres "$PGDATA"; fi
    chmod 700 "$PGDATA"
    as_owner "$PGBIN/initdb" -D "$PGDATA" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
    # Development settings: loopback only, sized for a 2-core laptop-class machine.
    as_owner tee -a "$PGDATA/postgresql.conf" >/dev/null <<CONF
listen_addresses = '127.0.0.1'
port = $PGPORT
unix_socket_directories = '$PGDATA'
shared_buffers = 512MB
work_mem = 32MB
maintenance_work_mem = 256MB
synchronous_commit = off
max_connections = 100
CONF
}

running() { as_owner "$PGBIN/pg_ctl" -D "$PGDATA" status >/dev/null 2>&1; }

start() {
    init
    if ! running; then
        as_owner "$PGBIN/pg_ctl" -D "$PGDATA" -l "$LOG" -w -t 60 start >/dev/null \
            || { echo "sosedi: PostgreSQL did not start; see $LOG" >&2; tail -20 "$LOG" >&2; exit 1; }
    fi
    psql_admin() { "$PGBIN/psql" -h 127.0.0.1 -p "$PGPORT" -U postgres -v ON_ERROR_STOP=1 -qtA "$@"; }
    if [ -z "$(psql_admin -d postgres -c "select 1 from pg_roles where rolname='$DBUSER'")" ]; then
        # Superuser so that the test runner can create test databases with the postgis extension.
        psql_admin -d postgres -c "create role \"$DBUSER\" login superuser"
    fi
    if [ -z "$(psql_admin -d postgres -c "select 1 from pg_database where datname='$DBNAME'")" ]; then
        psql_admin -d postgres -c "create database \"$DBNAME\" owner \"$DBUSER\""
    fi
    psql_admin -d "$DBNAME" -c "set client_min_messages = warning; create extension if not exists postgis; create extension if not exists pg_trgm;"
}

stop() { if running; then as_owner "$PGBIN/pg_ctl" -D "$PGDATA" -m fast -w stop >/dev/null; fi; }

case "${1:-start}" in
    start) start ;;
    stop) stop ;;
    status) if running; then echo "running: $PGDATA port $PGPORT"; else echo "stopped: $PGDATA"; fi ;;
    *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
