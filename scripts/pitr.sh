#!/usr/bin/env bash
# Continuous archiving and point-in-time recovery with pgBackRest (docs/deploy/pgbackrest.conf).
#   scripts/pitr.sh init                 create the stanza (once) and check that WAL archives
#   scripts/pitr.sh backup [full|diff]   a backup now (default: diff; the first is always full)
#   scripts/pitr.sh info                 backups held, and the WAL range they can recover
#   scripts/pitr.sh verify               read back every file of the repository, checksums too
#   scripts/pitr.sh restore --to TIME    stop PostgreSQL, recover to TIME, promote, start
#   scripts/pitr.sh restore --latest     the same, to the last archived transaction
#
# restore checks the repository first (info and verify, and that a backup ends before TIME);
# if any check fails it stops with the reason before PostgreSQL is stopped or a file of the
# data directory is touched.
#
# Environment: PGBACKREST_CONFIG (default /etc/pgbackrest/pgbackrest.conf; any pgBackRest
# option can be given as PGBACKREST_<OPTION>), SOSEDI_PITR_STANZA (sosedi),
# SOSEDI_PITR_STOP / SOSEDI_PITR_START (how to stop and start the server; default
# pg_ctlcluster 15 main), PGHOST/PGPORT (where psql finds the restored server).
# pgBackRest and psql run as `postgres` when this runs as root.
set -euo pipefail

STANZA=${SOSEDI_PITR_STANZA:-sosedi}
STOP=${SOSEDI_PITR_STOP:-pg_ctlcluster 15 main stop}
START=${SOSEDI_PITR_START:-pg_ctlcluster 15 main start}

say() { printf 'sosedi pitr: %s\n' "$*"; }
die() { printf 'sosedi pitr: %s\n' "$*" >&2; exit 1; }
# runuser keeps the environment (PGBACKREST_*, PGHOST, PGPORT) for the command it runs.
as_postgres() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
pgbr() { as_postgres pgbackrest --stanza="$STANZA" "$@"; }
command -v pgbackrest >/dev/null || die "pgbackrest is not installed (make setup installs it)"

# Prints the newest backup's label that ended before epoch $1 (any, if $1 is empty).
backup_before() {
    local json
    json=$(pgbr --output=json info 2>&1) || die "the repository cannot be read: $json"
    python3 - "$json" "${1:-}" <<'PY'
import json, sys
data, before = json.loads(sys.argv[1]), sys.argv[2]
stanza = data[0] if data else {}
status = stanza.get("status", {})
if status.get("code", 1) != 0:
    # The repository's own reason (e.g. "missing stanza path") says more than the stanza's.
    reasons = [r["status"]["message"] for r in stanza.get("repo", []) if r["status"]["code"]]
    sys.exit(f"the repository has no usable backup: {'; '.join(reasons) or status.get('message')}")
backups = [b for b in stanza.get("backup", []) if not before or b["timestamp"]["stop"] < int(before)]
if not backups:
    sys.exit("the repository holds no backup that ended before the time asked for")
print(backups[-1]["label"])
PY
}

preflight() {
    local before=$1 label verify
    label=$(backup_before "$before" 2>&1) || die "$label. Nothing was changed: PostgreSQL was not stopped."
    verify=$(pgbr --output=text verify 2>&1) \
        || die "the repository failed verification: $(echo "$verify" | tail -5 | tr '\n' ' ')Nothing was changed: PostgreSQL was not stopped."
    if echo "$verify" | grep -qiE 'invalid|missing|error'; then
        die "the repository failed verification: $(echo "$verify" | grep -iE 'invalid|missing|error' | head -5 | tr '\n' ' ')Nothing was changed: PostgreSQL was not stopped."
    fi
    say "backup $label and the archived WAL after it verified"
}

case "${1:-}" in
    init)
        pgbr stanza-create
        pgbr check
        ;;
    backup)
        pgbr --type="${2:-diff}" backup
        pgbr info
        ;;
    info) pgbr "${@:2}" info ;;
    verify) pgbr --output=text verify ;;
    restore)
        case "${2:-}" in
            --to)
                [ -n "${3:-}" ] || die "restore --to needs a time, e.g. '2026-12-07 10:15:00+00'"
                target_epoch=$(date -d "$3" +%s) || die "not a time: $3"
                preflight "$target_epoch"
                recovery=(--type=time "--target=$3" --target-action=promote)
                ;;
            --latest)
                preflight ""
                recovery=(--type=default)
                ;;
            *) die "usage: $0 restore --to TIME | --latest" ;;
        esac
        say "stopping PostgreSQL: $STOP"
        $STOP
        say "restoring (changed files only) and recovering: ${recovery[*]}"
        pgbr --delta "${recovery[@]}" restore
        say "starting PostgreSQL: $START"
        $START
        for _ in $(seq 1 600); do
            if [ "$(as_postgres psql -d postgres -XAtc 'select pg_is_in_recovery()' 2>/dev/null)" = f ]; then
                say "recovered and promoted: the database is open for writes"
                exit 0
            fi
            sleep 0.5
        done
        die "PostgreSQL has not finished recovering after 5 minutes; see its log"
        ;;
    *)
        sed -n '2,8p' "$0" >&2
        exit 2
        ;;
esac
