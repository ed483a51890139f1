"""`make failover-drill`: the primary dies under load and the replica takes over, by the
commands of docs/FAILOVER.md; measures the rows lost (RPO) and the seconds without a
successful write (RTO). Loopback only (ports 54347-54349 and a free one for gunicorn),
bounded (SOSEDI_DRILL_SECONDS of wrk, default 40), everything removed at the end.

The app runs under gunicorn (2 workers x 4 threads) behind pgbouncer, reading the map and
the cells from the replica while wrk loads it; a writer inserts one numbered row at a time
through pgbouncer, as the app writes, and records each commit it was told of. Then:
  1. the primary is SIGKILLed (a power cut: no shutdown, no last WAL sent);
  2. a monitor notices (a direct connection to it fails), as a health check would;
  3. runbook step 1: the replica is promoted (pg_ctl promote);
  4. runbook step 2: pgbouncer.ini points both pools at it, and pgbouncer reloads (SIGHUP).
RPO = rows whose commit the writer was told of that the promoted server lacks.
RTO = the longest time without an acknowledged write, which spans the kill.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import psycopg  # noqa: E402
from cluster_demo import app_env, prepare  # noqa: E402

from ops.localcluster import DBUSER, Stack, run, wait_for  # noqa: E402
from tests.ops import servers  # noqa: E402

SECONDS = int(os.environ.get("SOSEDI_DRILL_SECONDS", "40"))
CONNECTIONS = int(os.environ.get("SOSEDI_DRILL_CONNECTIONS", "16"))
KILL_AFTER = SECONDS / 3
DB = "sosedi_drill"


class Writer(threading.Thread):
    """Inserts rows 1, 2, 3… one per transaction through pgbouncer; records acknowledgements."""

    def __init__(self, url: str):
        super().__init__(daemon=True)
        self.url = url
        self.acked: list[tuple[int, float]] = []  # (seq, monotonic time of the ack)
        self.errors: list[tuple[float, str]] = []
        self.stop = threading.Event()

    def run(self) -> None:
        seq, conn = 0, None
        while not self.stop.is_set():
            try:
                if conn is None or conn.closed:
                    conn = psycopg.connect(self.url, autocommit=True, connect_timeout=3,
                                           prepare_threshold=None)  # fmt: skip
                seq += 1
                conn.execute("INSERT INTO drill_write (seq) VALUES (%s)", [seq])
                self.acked.append((seq, time.monotonic()))
            except psycopg.Error as exc:
                self.errors.append((time.monotonic(), str(exc).splitlines()[0][:120]))
                if conn is not None:
                    conn.close()
                conn = None
                time.sleep(0.05)
            time.sleep(0.01)
        if conn is not None:
            conn.close()


def primary_answers(stack: Stack) -> bool:
    try:
        with psycopg.connect(stack.primary.url(DB).replace("postgis", "postgresql"),
                             connect_timeout=1) as conn:  # fmt: skip
            conn.execute("SELECT 1")
        return True
    except psycopg.Error:
        return False


def repoint_pgbouncer(stack: Stack) -> None:
    """Runbook step 2: both pools to the promoted server, then `systemctl reload pgbouncer`."""
    ini = stack.pgbouncer.ini
    text = ini.read_text().replace(f"port={stack.primary.port} ", f"port={stack.replica.port} ")
    run(["tee", str(ini)], input=text)
    stack.pgbouncer.reload()


def drill() -> dict:
    stack = Stack(base_port=54347, db=DB)
    try:
        prepare(stack, supporters=os.environ.get("SOSEDI_DEMO_SUPPORTERS", "3000"))
        stack.primary.psql("CREATE TABLE drill_write (seq int PRIMARY KEY, at timestamptz "
                           "DEFAULT clock_timestamp())", db=DB)  # fmt: skip
        stack.wait_replayed()
        env = app_env(stack, DEBUG="false")
        extra = {k: env[k] for k in env if k.startswith(("DATABASE_", "SOSEDI_"))}
        writer = Writer(stack.pooled_url().replace("postgis", "postgresql"))
        with servers.gunicorn(stack.pooled_url(), extra_env=extra) as (_process, base):
            load: dict = {}
            wrk = threading.Thread(
                target=lambda: load.update(servers.wrk(base, seconds=SECONDS,
                                                       connections=CONNECTIONS)))  # fmt: skip
            wrk.start()
            writer.start()
            time.sleep(KILL_AFTER)
            marks = {"kill": time.monotonic()}
            stack.primary.kill()
            marks["killed"] = time.monotonic()
            wait_for(lambda: not primary_answers(stack), timeout=30, what="the monitor")
            marks["detected"] = time.monotonic()
            stack.replica.promote()  # runbook step 1
            marks["promoted"] = time.monotonic()
            repoint_pgbouncer(stack)  # runbook step 2
            marks["repointed"] = time.monotonic()
            wait_for(lambda: writer.acked and writer.acked[-1][1] > marks["repointed"],
                     timeout=60, what="a write after the failover")  # fmt: skip
            wrk.join(timeout=SECONDS + 120)
            writer.stop.set()
            writer.join(timeout=30)
        kept = {int(x) for x in stack.replica.psql("SELECT seq FROM drill_write", db=DB).split()}
        acked = [seq for seq, _at in writer.acked]
        # The outage is the longest stretch without an acknowledged write (the writer writes
        # every ~10 ms otherwise); it must span the kill.
        times = [at for _seq, at in writer.acked]
        gap, start = max((b - a, a) for a, b in zip(times, times[1:], strict=False))
        assert start <= marks["killed"] <= start + gap, "the longest write gap is not the kill"
        lost = sorted(set(acked) - kept)
        return {
            "writes_acknowledged": len(acked),
            "rows_lost_rpo": len(lost),
            "lost_seqs": lost[:20],
            "rto_seconds": round(gap, 2),
            "kill_seconds": round(marks["killed"] - marks["kill"], 2),
            "detect_seconds": round(marks["detected"] - marks["killed"], 2),
            "promote_seconds": round(marks["promoted"] - marks["detected"], 2),
            "repoint_seconds": round(marks["repointed"] - marks["promoted"], 2),
            "write_errors": len(writer.errors),
            "first_errors": sorted({e for _t, e in writer.errors})[:5],
            "wrk_requests": load.get("requests"),
            "wrk_non2xx": load.get("non2xx"),
            "wrk_socket_errors": load.get("socket_errors"),
            "wrk_p99_ms": load.get("p99_ms"),
            "wrk_seconds": SECONDS,
            "wrk_connections": CONNECTIONS,
            "user": DBUSER,
        }
    finally:
        stack.destroy()


if __name__ == "__main__":
    result = drill()
    print("FAILOVER " + json.dumps(result), flush=True)
