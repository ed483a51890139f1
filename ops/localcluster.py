"""Throw-away PostgreSQL clusters on 127.0.0.1: a primary, a streaming replica made from it
with pg_basebackup, and pgbouncer in front. Used by tests/ops/test_replication.py,
tests/ops/test_pitr.py, `make cluster-demo` and `make failover-drill`; never by the app.

initdb, pg_ctl and pgbouncer refuse to run as root, so as root they run as `postgres`.
Every process is stopped by `Stack.destroy()`; `clear_ports()` ends strays a crashed run
left on the ports given (only postgres and pgbouncer processes, by the port they listen on).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path

PGBIN = Path(os.environ.get("SOSEDI_PGBIN", "/usr/lib/postgresql/15/bin"))
ROOT = os.geteuid() == 0
DBUSER = "sosedi"


def as_postgres(args: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *args] if ROOT else args


def run(args: list[str], *, timeout: float = 120, check: bool = True, **kwargs):
    return subprocess.run(  # noqa: S603 (fixed programs, our own arguments)
        as_postgres(args), check=check, capture_output=True, text=True, timeout=timeout, **kwargs
    )


def wait_for(condition: Callable[[], object], *, timeout: float, what: str, step: float = 0.1):
    """Poll `condition` until it is truthy (exceptions count as not yet); its last value."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = condition()
            if value:
                return value
        except Exception:  # noqa: BLE001, S110 (not there yet)
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(step)


def gone(pid: int) -> bool:
    """The process has exited (a zombie not yet reaped by its parent counts as exited)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return True


def _listeners(ports: set[int]) -> dict[int, set[int]]:
    """{port: pids of the processes holding a listening socket on 127.0.0.1:port}."""
    out = subprocess.run(  # noqa: S603
        ["/usr/bin/ss", "-Hltnp"], capture_output=True, text=True, check=False
    ).stdout
    found: dict[int, set[int]] = {}
    for line in out.splitlines():
        match = re.search(r"127\.0\.0\.1:(\d+)\s", line)
        if match and int(match.group(1)) in ports:
            pids = {int(p) for name, p in re.findall(r'\("([^"]+)",pid=(\d+)', line)
                    if name in ("postgres", "pgbouncer")}  # fmt: skip
            found.setdefault(int(match.group(1)), set()).update(pids)
    return found


def _main_pid(pid: int) -> int:
    """A postgres backend's postmaster (backends inherit its listening socket)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        if b"-D\0" in cmdline or b"pgbouncer" in cmdline.split(b"\0")[0]:
            return pid
        status = Path(f"/proc/{pid}/status").read_text()
        return int(re.search(r"^PPid:\s+(\d+)", status, re.M).group(1))
    except (OSError, AttributeError):
        return pid


def _owned_by_a_live_run(pid: int) -> bool:
    """The server belongs to a Stack whose process still runs (another test run on this
    machine): its home's `owner` file names a live pid."""
    try:
        args = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
        home = next(m.group(1) for a in args if (m := re.match(r"(.*/sosedi-cluster-[^/]+)", a)))
        owner = int((Path(home) / "owner").read_text())
    except (OSError, ValueError, StopIteration):
        return False
    return owner != os.getpid() and not gone(owner)


def clear_ports(ports: Iterable[int], *, wait: float = 240) -> list[int]:
    """Free these loopback ports: SIGKILL postgres/pgbouncer left there by a run that died;
    wait (up to `wait` s) for ones that another live run on this machine still uses."""
    wanted, killed = set(ports), []
    deadline = time.monotonic() + wait
    while True:
        held = _listeners(wanted)
        mains = {_main_pid(pid) for pids in held.values() for pid in pids}
        strays = {pid for pid in mains if not _owned_by_a_live_run(pid)}
        for pid in strays:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            killed.append(pid)
        if strays:
            wait_for(lambda s=strays: all(gone(p) for p in s), timeout=15, what="strays to exit")
        if not (mains - strays):
            return killed
        if time.monotonic() > deadline:
            raise TimeoutError(f"ports {sorted(wanted)} still used by another run after {wait} s")
        time.sleep(1)


class Postgres:
    """One cluster, its data directory under `home`."""

    def __init__(self, *, home: Path, name: str, port: int):
        self.port, self.name = port, name
        self.datadir = home / name
        self.log = home / f"{name}.log"

    def _conf(self, extra: str = "") -> None:
        conf = (
            f"\n# sosedi localcluster\nlisten_addresses = '127.0.0.1'\nport = {self.port}\n"
            f"unix_socket_directories = '{self.datadir.parent}'\n"
            "shared_buffers = 64MB\nmax_connections = 80\nwal_level = replica\n"
            "max_wal_senders = 10\nhot_standby = on\nwal_log_hints = on\n"
            # A standby told to promote while it waits for WAL from a dead primary acts on
            # it only at its next retry: 1 s instead of the default 5 s (docs/FAILOVER.md).
            "hot_standby_feedback = on\nwal_retrieve_retry_interval = 1s\n"
            f"{extra}"
        )
        run(["tee", "-a", str(self.datadir / "postgresql.conf")], input=conf)

    def initdb(self, extra_conf: str = "") -> None:
        run([str(PGBIN / "initdb"), "-D", str(self.datadir), "-U", "postgres", "--auth=trust",
             "-E", "UTF8", "--locale=C.UTF-8"])  # fmt: skip
        self._conf(extra_conf)

    def basebackup_from(self, primary: Postgres, *, slot: str) -> None:
        """A streaming standby of `primary` (standby.signal, primary_conninfo, a slot)."""
        run([str(PGBIN / "pg_basebackup"), "-h", "127.0.0.1", "-p", str(primary.port),
             "-U", "postgres", "-D", str(self.datadir), "-R", "-X", "stream", "-C", "-S", slot,
             "--checkpoint=fast"], timeout=300)  # fmt: skip
        self._conf()

    def pg_ctl(self, *args: str, timeout: float = 120):
        return run([str(PGBIN / "pg_ctl"), "-D", str(self.datadir), "-l", str(self.log),
                    "-w", "-t", str(int(timeout)), *args], timeout=timeout + 10)  # fmt: skip

    def start(self, attempts: int = 5) -> None:
        # Our ports lie in Linux's ephemeral range: another program's socket may hold one for
        # a moment, so a start that found its port taken is tried again a few times.
        for attempt in range(attempts):
            logged = self.log.stat().st_size if self.log.exists() else 0
            try:
                self.pg_ctl("start")
                return
            except subprocess.CalledProcessError as exc:
                log = self.log.read_text()[logged:] if self.log.exists() else "(no log)"
                if "Address already in use" not in log or attempt == attempts - 1:
                    raise RuntimeError(
                        f"{self.name} on port {self.port} did not start:\n{log[-3000:]}"
                    ) from exc
                time.sleep(2)

    def stop(self, mode: str = "fast") -> None:
        self.pg_ctl("stop", "-m", mode)

    def running(self) -> bool:
        return run([str(PGBIN / "pg_ctl"), "-D", str(self.datadir), "status"],
                   check=False).returncode == 0  # fmt: skip

    def postmaster_pid(self) -> int | None:
        pidfile = self.datadir / "postmaster.pid"
        try:
            return int(pidfile.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def kill(self) -> None:
        """SIGKILL the postmaster and its children, as a power cut would end them."""
        pid = self.postmaster_pid()
        if pid is None:
            return
        children = subprocess.run(  # noqa: S603
            ["/usr/bin/pgrep", "-P", str(pid)], capture_output=True, text=True, check=False
        ).stdout.split()
        for p in [pid, *map(int, children)]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(p, signal.SIGKILL)
        wait_for(lambda: gone(pid), timeout=15, what="postgres to die")

    def promote(self) -> None:
        self.pg_ctl("promote")

    def psql(self, sql: str, *, db: str = "postgres", timeout: float = 60) -> str:
        result = subprocess.run(  # noqa: S603
            [str(PGBIN / "psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres",
             "-d", db, "-v", "ON_ERROR_STOP=1", "-qAtX", "-c", sql],
            check=True, capture_output=True, text=True, timeout=timeout,
        )  # fmt: skip
        return result.stdout.strip()

    def url(self, db: str) -> str:
        return f"postgis://{DBUSER}@127.0.0.1:{self.port}/{db}"


class Pgbouncer:
    """pgbouncer in transaction mode: `db` goes to the primary, `db`_replica to the replica."""

    def __init__(self, *, home: Path, port: int):
        self.home, self.port = home, port
        self.ini = home / "pgbouncer.ini"
        self.process: subprocess.Popen | None = None

    def configure(self, *, db: str, primary: Postgres, replica: Postgres | None) -> None:
        # As docs/deploy/pgbouncer.ini: the statement timeout comes from connect_query.
        timeout = "connect_query='SET statement_timeout = 30000'"
        lines = [
            "[databases]",
            f"{db} = host=127.0.0.1 port={primary.port} dbname={db} {timeout}",
        ]
        if replica is not None:
            lines.append(f"{db}_replica = host=127.0.0.1 port={replica.port} dbname={db} {timeout}")
        lines += [
            "[pgbouncer]",
            "listen_addr = 127.0.0.1",
            f"listen_port = {self.port}",
            "unix_socket_dir =",
            "auth_type = trust",
            f"auth_file = {self.home / 'userlist.txt'}",
            "pool_mode = transaction",
            "max_client_conn = 400",
            "default_pool_size = 20",
            "server_reset_query =",
            "ignore_startup_parameters = extra_float_digits",
            "server_connect_timeout = 3",
            "query_wait_timeout = 5",
            "server_login_retry = 1",
            "admin_users = postgres",
            f"logfile = {self.home / 'pgbouncer.log'}",
        ]
        run(["tee", str(self.ini)], input="\n".join(lines) + "\n")
        run(["tee", str(self.home / "userlist.txt")], input=f'"{DBUSER}" ""\n"postgres" ""\n')

    def start(self) -> None:
        self.process = subprocess.Popen(  # noqa: S603
            as_postgres(["/usr/sbin/pgbouncer", str(self.ini)]),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        import socket

        def listening() -> bool:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                return True

        wait_for(listening, timeout=30, what="pgbouncer")

    def reload(self) -> None:
        """Re-read pgbouncer.ini (SIGHUP): how the failover runbook re-points the pool."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGHUP)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


class Stack:
    """A primary, optionally a streaming replica and pgbouncer, in one temporary directory.

    Ports: the primary `base`, the replica `base + 1`, pgbouncer `base + 2`.
    """

    def __init__(self, *, base_port: int, db: str = "sosedi", primary_conf: str = ""):
        self.home = Path(tempfile.mkdtemp(prefix="sosedi-cluster-"))
        if ROOT:
            shutil.chown(self.home, "postgres", "postgres")
        self.home.chmod(0o700)
        # Whose clusters these are: clear_ports() of another run leaves them alone while we live.
        (self.home / "owner").write_text(str(os.getpid()))
        self.db = db
        self.primary_conf = primary_conf
        self.ports = (base_port, base_port + 1, base_port + 2)
        self.primary = Postgres(home=self.home, name="primary", port=base_port)
        self.replica: Postgres | None = None
        self.pgbouncer: Pgbouncer | None = None

    def start_primary(self) -> None:
        clear_ports(self.ports)
        self.primary.initdb(self.primary_conf)
        self.primary.start()
        self.primary.psql(f"CREATE ROLE {DBUSER} LOGIN SUPERUSER")
        self.primary.psql(f"CREATE DATABASE {self.db} OWNER {DBUSER}")
        self.primary.psql(
            "SET client_min_messages = warning; CREATE EXTENSION IF NOT EXISTS postgis;"
            " CREATE EXTENSION IF NOT EXISTS pg_trgm",
            db=self.db,
        )

    def start_replica(self) -> None:
        self.replica = Postgres(home=self.home, name="replica", port=self.ports[1])
        self.replica.basebackup_from(self.primary, slot="sosedi_replica")
        self.replica.start()
        self.wait_streaming()

    def wait_streaming(self, timeout: float = 60) -> None:
        wait_for(
            lambda: self.primary.psql(
                "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'"
            ) == "1",
            timeout=timeout, what="the replica to stream",
        )  # fmt: skip

    def wait_replayed(self, timeout: float = 60) -> None:
        """Until the replica has replayed everything the primary has written so far."""
        assert self.replica is not None
        target = self.primary.psql("SELECT pg_current_wal_lsn()")
        wait_for(
            lambda: self.replica.psql(
                f"SELECT pg_last_wal_replay_lsn() >= '{target}'::pg_lsn"
            ) == "t",
            timeout=timeout, what="the replica to replay",
        )  # fmt: skip

    def start_pgbouncer(self) -> None:
        self.pgbouncer = Pgbouncer(home=self.home, port=self.ports[2])
        self.pgbouncer.configure(db=self.db, primary=self.primary, replica=self.replica)
        self.pgbouncer.start()

    def pooled_url(self, *, replica: bool = False) -> str:
        suffix = "_replica" if replica else ""
        return f"postgis://{DBUSER}@127.0.0.1:{self.ports[2]}/{self.db}{suffix}"

    def destroy(self) -> None:
        if self.pgbouncer:
            self.pgbouncer.stop()
        for cluster in (self.replica, self.primary):
            if cluster is not None and cluster.running():
                try:
                    cluster.stop("immediate")
                except subprocess.SubprocessError:
                    cluster.kill()
        clear_ports(self.ports)
        shutil.rmtree(self.home, ignore_errors=True)
