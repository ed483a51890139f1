#!/usr/bin/env bash
# `make run`: demo data if the database is empty, then the web server and the worker.
# Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
HOST=${SOSEDI_HOST:-127.0.0.1}
PORT=${SOSEDI_PORT:-8000}
# Links in emails (and the outbox) point at SITE_URL: by default, where this run serves.
export SITE_URL=${SITE_URL:-http://$HOST:$PORT}

$PY manage.py seed_demo --if-empty --supporters "${SOSEDI_DEMO_SUPPORTERS:-5000}" --seed 1
$PY manage.py refresh_map

pids=()
cleanup() {
    trap - INT TERM EXIT
    kill "${pids[@]}" 2>/dev/null || true
    wait 2>/dev/null || true
}
trap cleanup INT TERM EXIT

$PY manage.py procrastinate worker &
pids+=($!)
$PY manage.py runserver "$HOST:$PORT" &
pids+=($!)

# Wait for the web server before printing where to go.
for _ in $(seq 60); do
    if $PY -c "import urllib.request, sys; urllib.request.urlopen('http://$HOST:$PORT/', timeout=1)" 2>/dev/null; then break; fi
    sleep 0.5
done
# The demo organizer (admin role) and a fresh single-use recovery code for the second
# login step (the one printed by a previous run stops working).
read -r organizer password code secret < <($PY manage.py demo_organizer --shell)
cat <<MSG

  Sosedi is running (Ctrl-C stops the web server and the worker):
    start page     http://$HOST:$PORT/
    join           http://$HOST:$PORT/join/
    public map     http://$HOST:$PORT/map/
    outbox (dev)   http://$HOST:$PORT/dev/outbox/
    organizers     http://$HOST:$PORT/organize/   login: $organizer / $password
                   second step: the single-use recovery code $code
                   (or add the TOTP key $secret to an authenticator
                   app and type its 6-digit codes)
    admin          http://$HOST:$PORT/admin/   (the same login)

MSG
wait -n "${pids[@]}"
