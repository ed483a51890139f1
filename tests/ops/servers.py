"""Real servers for the load and fault tests, all on 127.0.0.1: gunicorn with the
documented flags, a throw-away PostgreSQL cluster of the test's own, and wrk."""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager, suppress
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PGBIN = Path(os.environ.get("SOSEDI_PGBIN", "/usr/lib/postgresql/15/bin"))
LUA = Path(__file__).with_name("soak.lua")


def free_port(preferred: int | None = None) -> int:
    for port in ([preferred] if preferred else []) + [0]:
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return probe.getsockname()[1]
    raise RuntimeError("no free port")


def database_url(settings_dict: dict, name: str | None = None, port: int | None = None) -> str:
    s = settings_dict
    host = s.get("HOST") or "127.0.0.1"
    return f"postgis://{s['USER']}@{host}:{port or s.get('PORT') or 5432}/{name or s['NAME']}"


def wait_until(condition, *, timeout: float, what: str, step: float = 0.1):
    deadline = time.monotonic() + timeout
    while True:
        try:
            if condition():
                return
        except Exception:  # noqa: BLE001, S110 (not up yet)
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(step)


def http_status(url: str, timeout: float = 5) -> int:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (127.0.0.1)
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


@contextmanager
def gunicorn(db_url: str, *, workers: int = 2, threads: int = 4, extra_env: dict | None = None):
    """The app as docs/deploy/sosedi-web.service runs it, on a free port of 127.0.0.1."""
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("SOSEDI_", "DJANGO_"))},
        "DATABASE_URL": db_url,
        "DEBUG": "false",
        "SOSEDI_DB_STATEMENT_TIMEOUT": "30",
        "SOSEDI_MAP_REFRESH_CRON": "",
        **(extra_env or {}),
    }
    # Its log goes to a file: a pipe nobody reads fills up, and then every thread that
    # logs (a traceback per request while the database is away) blocks.
    log = tempfile.NamedTemporaryFile(  # noqa: SIM115 (open for the server's lifetime)
        prefix="sosedi-gunicorn-", suffix=".log", delete=False
    )
    process = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("gunicorn")),
            "mapsite.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--threads",
            str(threads),
            "--timeout",
            "30",
            "--keep-alive",
            "5",
            "--error-logfile",
            "-",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    process.log_path = Path(log.name)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: http_status(f"{base}/map/") == 200, timeout=60, what="gunicorn")
        yield process, base
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
        process.log_path.unlink(missing_ok=True)


def worker_pids(master: subprocess.Popen) -> set[int]:
    children = Path(f"/proc/{master.pid}/task/{master.pid}/children")
    return {int(p) for p in children.read_text().split()} if children.exists() else set()


def wrk(base: str, *, seconds: int, connections: int, threads: int = 2) -> dict:
    """wrk against /map/ and the cells API (tests/ops/soak.lua); its JSON summary."""
    binary = shutil.which("wrk")
    assert binary, "wrk is missing: `make setup` installs it (Debian package wrk)"
    result = subprocess.run(  # noqa: S603
        [
            binary,
            "--threads",
            str(threads),
            "--connections",
            str(connections),
            "--duration",
            f"{seconds}s",
            "--timeout",
            "10s",
            "--latency",
            "--script",
            str(LUA),
            base,
        ],
        capture_output=True,
        text=True,
        timeout=seconds + 60,
    )
    assert result.returncode == 0, result.stderr
    line = next(x for x in result.stdout.splitlines() if x.startswith("SOAK "))
    summary = json.loads(line[len("SOAK ") :])
    summary["output"] = result.stdout
    return summary


# --- a PostgreSQL cluster of the test's own ---------------------------------------------------


class Cluster:
    """A throw-away PostGIS cluster on 127.0.0.1, owned by `postgres` when run as root."""

    def __init__(self, port: int):
        self.port = port
        self.datadir = Path(tempfile.mkdtemp(prefix="sosedi-fault-"))
        self.log = self.datadir / "server.log"
        self.root = os.geteuid() == 0

    def _as_owner(self, *args: str, check: bool = True, timeout: float = 120):
        command = ["runuser", "-u", "postgres", "--", *args] if self.root else list(args)
        return subprocess.run(  # noqa: S603
            command, check=check, capture_output=True, text=True, timeout=timeout
        )

    def init(self):
        if self.root:
            shutil.chown(self.datadir, "postgres", "postgres")
        self.datadir.chmod(0o700)
        pgdata = str(self.datadir / "data")
        self._as_owner(
            str(PGBIN / "initdb"), "-D", pgdata, "-U", "postgres", "--auth=trust", "-E", "UTF8",
            "--locale=C.UTF-8",
        )  # fmt: skip
        conf = (
            f"listen_addresses = '127.0.0.1'\nport = {self.port}\n"
            f"unix_socket_directories = '{self.datadir}'\n"
            "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"
            "shared_buffers = 128MB\nmax_connections = 60\n"
        )
        subprocess.run(  # noqa: S603
            (["runuser", "-u", "postgres", "--"] if self.root else [])
            + ["tee", "-a", f"{pgdata}/postgresql.conf"],
            input=conf,
            check=True,
            capture_output=True,
            text=True,
        )

    def pg_ctl(self, action: str, *extra: str):
        return self._as_owner(
            str(PGBIN / "pg_ctl"), "-D", str(self.datadir / "data"), "-l", str(self.log),
            "-w", "-t", "60", action, *extra,
        )  # fmt: skip

    def start(self):
        self.pg_ctl("start")

    def stop(self, mode: str = "fast"):
        self.pg_ctl("stop", "-m", mode)

    def psql(self, sql: str, db: str = "postgres"):
        return subprocess.run(  # noqa: S603
            [str(PGBIN / "psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres",
             "-d", db, "-v", "ON_ERROR_STOP=1", "-qAt", "-c", sql],
            check=True, capture_output=True, text=True, timeout=60,
        )  # fmt: skip

    def destroy(self):
        with suppress(subprocess.CalledProcessError):
            self.pg_ctl("stop", "-m", "immediate")
        shutil.rmtree(self.datadir, ignore_errors=True)


@contextmanager
def throwaway_cluster(preferred_port: int = 54331):
    cluster = Cluster(free_port(preferred_port))
    try:
        cluster.init()
        cluster.start()
        cluster.psql("CREATE ROLE sosedi LOGIN SUPERUSER")
        cluster.psql("CREATE DATABASE sosedi_fault OWNER sosedi")
        yield cluster
    finally:
        cluster.destroy()
