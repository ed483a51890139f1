"""Load and faults, against the app under gunicorn on 127.0.0.1 with a seeded, refreshed
database: wrk at 50 connections gets only 2xx; PostgreSQL restarted in the middle of the
load costs a few 503s, and the app answers again within 5 s of the database coming back,
without a restart of its own and without a request hanging.

CI runs the short version (10 s of wrk). `make soak` runs 60 s on 20,000 supporters:
    SOSEDI_SOAK_SECONDS, SOSEDI_SOAK_CONNECTIONS, SOSEDI_SOAK_SUPPORTERS.
"""

import os
import threading
import time
import urllib.error
import urllib.request

import pytest
from django.core.management import call_command
from django.db import connection

from ops import backup
from tests.ops import servers

pytestmark = pytest.mark.django_db(transaction=True)

SECONDS = int(os.environ.get("SOSEDI_SOAK_SECONDS", "10"))
CONNECTIONS = int(os.environ.get("SOSEDI_SOAK_CONNECTIONS", "50"))
SUPPORTERS = int(os.environ.get("SOSEDI_SOAK_SUPPORTERS", "5000"))
RECOVERY_SECONDS = 5


@pytest.fixture
def seeded(transactional_db):
    call_command("seed_demo", supporters=SUPPORTERS, seed=3, no_organizer=True, verbosity=0)
    call_command("refresh_map", verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM geo_publiccell")
        assert cursor.fetchone()[0] > 0


def test_map_and_cells_answer_only_2xx_under_load(seeded):
    with servers.gunicorn(servers.database_url(connection.settings_dict)) as (_process, base):
        result = servers.wrk(base, seconds=SECONDS, connections=CONNECTIONS)
    print(
        f"\nwrk {SECONDS} s, {CONNECTIONS} connections, gunicorn 2 workers x 4 threads: "
        f"{result['requests']} requests ({result['requests'] / result['seconds']:.0f}/s), "
        f"p50 {result['p50_ms']} ms, p90 {result['p90_ms']} ms, p99 {result['p99_ms']} ms, "
        f"max {result['max_ms']} ms, non-2xx {result['non2xx']}, "
        f"socket errors {result['socket_errors']}"
    )
    assert result["requests"] > SECONDS * 20, result["output"]
    assert result["non2xx"] == 0, result["output"]
    assert result["socket_errors"] == 0, result["output"]


class Load:
    """Threads requesting the map and cells in a loop, each request timed (never unbounded)."""

    PATHS = ("/map/", "/api/public/cells?bbox=36.5,55.3,38.5,56.1&zoom=8")

    def __init__(self, base: str, threads: int = 12, timeout: float = 15):
        self.base, self.timeout = base, timeout
        self.results: list[tuple[float, float, int | str, str]] = []  # start, end, status, retry
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._run, args=(i,)) for i in range(threads)]

    def _run(self, index: int):
        n = index
        while not self.stop.is_set():
            path = self.PATHS[n % len(self.PATHS)]
            n += 1
            start = time.monotonic()
            retry = ""
            try:
                with urllib.request.urlopen(self.base + path, timeout=self.timeout) as r:  # noqa: S310
                    r.read()
                    status = r.status
            except urllib.error.HTTPError as exc:
                status, retry = exc.code, exc.headers.get("Retry-After", "")
            except Exception as exc:  # noqa: BLE001 (a refused or reset connection is data here)
                status = type(exc).__name__
            self.results.append((start, time.monotonic(), status, retry))

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for t in self.threads:
            t.join(timeout=self.timeout + 5)


def test_the_app_recovers_within_5_s_of_a_postgres_restart_and_nothing_hangs(seeded, tmp_path):
    # The test's own cluster (never the shared one), holding a copy of the seeded database.
    passphrase = "load-test-copy-passphrase"
    copy = tmp_path / "copy.enc"
    with copy.open("wb") as out:
        backup.dump(connection.settings_dict, out, passphrase=passphrase)
    with servers.throwaway_cluster(54331) as cluster:
        fault_db = {"NAME": "sosedi_fault", "USER": "sosedi", "HOST": "127.0.0.1"}
        fault_db["PORT"] = cluster.port
        with copy.open("rb") as source:
            backup.restore(fault_db, source, passphrase=passphrase)
        url = servers.database_url(fault_db)
        with servers.gunicorn(url) as (master, base):
            workers_before = servers.worker_pids(master)
            with Load(base) as load:
                time.sleep(3)
                down_at = time.monotonic()
                cluster.stop("fast")
                time.sleep(3)  # three seconds without a database
                cluster.start()  # returns once PostgreSQL accepts connections
                back_at = time.monotonic()
                time.sleep(RECOVERY_SECONDS + 5)
            workers_after = servers.worker_pids(master)
            assert master.poll() is None, "gunicorn died"

    results = sorted(load.results)
    assert len(results) > 50
    longest = max(end - start for start, end, *_ in results)
    first_ok = min(
        (end for start, end, s, _ in results if start >= back_at and s == 200), default=None
    )
    during = [s for start, end, s, _ in results if end >= down_at and start <= back_at]
    failures = [(round(start - down_at, 2), s, r) for start, _e, s, r in results if s != 200]
    timeline = {}
    for start, _end, status, _retry in results:
        second = int(start - down_at)
        timeline.setdefault(second, {}).setdefault(str(status), 0)
        timeline[second][str(status)] += 1
    recovered = f"{first_ok - back_at:.2f} s" if first_ok else "never"
    print(
        f"\n{len(results)} requests; database down {back_at - down_at:.1f} s; "
        f"{len(failures)} not 200: {sorted({str(s) for _t, s, _r in failures})}; "
        f"first 200 {recovered} after the database was back; longest request "
        f"{longest:.2f} s; gunicorn workers unchanged: {workers_before == workers_after}\n"
        f"by second from the stop: {dict(sorted(timeline.items()))}"
    )
    assert longest < 10, "a request hung"
    assert first_ok is not None and first_ok - back_at <= RECOVERY_SECONDS
    # Everything asked for once the database had been back 5 s was answered.
    late = [s for start, _e, s, _ in results if start >= back_at + RECOVERY_SECONDS]
    assert late and set(late) == {200}, set(late)
    # Before the outage everything was answered; during it, a clear 503 with Retry-After.
    assert {s for start, end, s, _ in results if end < down_at} == {200}
    assert {s for s in during if s != 200} <= {503}, set(during)
    assert all(r == "5" for _s, _e, s, r in results if s == 503)
    assert workers_before == workers_after, "gunicorn had to replace a worker"
