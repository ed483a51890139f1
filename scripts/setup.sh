#!/usr/bin/env bash
# `make setup`: everything Sosedi needs on a fresh Debian 12 machine, idempotent.
#  1. Debian packages (as root directly, else with sudo), pgbouncer and pgBackRest among them
#     (the replica, pooling and point-in-time recovery tests run them on clusters of their own,
#     and find stray servers on their ports with ss and pgrep);
#  2. the virtualenv in .venv with the locked Python packages;
#  3. a project-local PostGIS cluster, unless DATABASE_URL is set;
#  4. front-end packages from package-lock.json (npm ci), served as static files;
#  5. migrations, compiled translations, the offline gazetteer;
#  6. the demo base map (var/basemap/demo.pmtiles), rebuilt only when its inputs change.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\033[1msosedi:\033[0m %s\n' "$*"; }

DEB_PACKAGES=(
    postgresql-15 postgresql-15-postgis-3 postgresql-client-15
    gdal-bin libgeos-c1v5 libproj25
    gettext python3-venv
    chromium fonts-dejavu-core
    wrk
    pgbouncer pgbackrest iproute2 procps
)
# npm installs the front-end packages. Debian's nodejs and npm, unless an npm is already
# there (NodeSource's nodejs bundles its own, and Debian's npm would conflict with it).
if ! command -v npm >/dev/null; then
    DEB_PACKAGES+=(nodejs npm)
fi

missing=()
for pkg in "${DEB_PACKAGES[@]}"; do
    if [ "$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null)" != "installed" ]; then
        missing+=("$pkg")
    fi
done
if [ ${#missing[@]} -gt 0 ]; then
    say "installing Debian packages: ${missing[*]}"
    if [ "$(id -u)" = 0 ]; then SUDO=""
    elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then SUDO="sudo"
    elif command -v sudo >/dev/null; then SUDO="sudo"; say "sudo will ask for your password"
    else
        echo "sosedi: these Debian packages are missing and I am neither root nor able to sudo:" >&2
        echo "    apt-get install ${missing[*]}" >&2
        exit 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Python 3.11 or newer.
PYTHON=${PYTHON:-}
if [ -z "$PYTHON" ]; then
    for candidate in python3.11 python3; do
        if command -v "$candidate" >/dev/null; then PYTHON=$candidate; break; fi
    done
fi
"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
    || { echo "sosedi: Python 3.11 or newer is needed ($PYTHON is older)" >&2; exit 1; }

stamp=$(cat requirements.lock pyproject.toml | sha256sum | cut -c1-16)
if [ ! -x .venv/bin/python ] || [ "$(cat .venv/.sosedi-stamp 2>/dev/null)" != "$stamp" ]; then
    say "installing Python packages into .venv"
    [ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
    .venv/bin/pip install -q --upgrade pip
    .venv/bin/pip install -q -r requirements.lock
    .venv/bin/pip install -q --no-deps -e . >/dev/null 2>&1 \
        || .venv/bin/pip install --no-deps -e .  # again, loudly, to show why it failed
    echo "$stamp" > .venv/.sosedi-stamp
fi

# Front-end packages (leaflet.heat, topojson-client, world-atlas): exactly the lockfile's
# versions, re-installed only when package.json or package-lock.json change.
npm_stamp=$(cat package.json package-lock.json | sha256sum | cut -c1-16)
if [ "$(cat node_modules/.sosedi-stamp 2>/dev/null)" != "$npm_stamp" ]; then
    say "installing front-end packages into node_modules"
    npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
    echo "$npm_stamp" > node_modules/.sosedi-stamp
fi

if [ -z "${DATABASE_URL:-}" ]; then
    bash scripts/db.sh start
fi

PY=.venv/bin/python
$PY manage.py migrate --noinput -v 0
$PY manage.py compilemessages -v 0 --ignore=.venv --ignore=node_modules
$PY manage.py load_gazetteer --if-empty
# Vector tiles of land, borders and the gazetteer's towns, zooms 0-8, that every map draws
# until an organizer installs an extract of their own (README, "The base map").
$PY manage.py basemap_build
