"""The read-replica router (ops/replica.py) on real clusters the test makes itself: a primary
on 127.0.0.1:24341, a streaming replica of it (pg_basebackup) on 24342 and pgbouncer in
transaction mode on 24343, all removed at the end (ops/localcluster.py).

The app runs in this process against them: DATABASES' default and replica aliases are
pointed at these clusters for the module's tests and restored afterwards, and every query
is counted on the alias it ran on.
"""

import logging
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connections
from django.test import Client

from ops import replica
from ops.localcluster import Stack, wait_for
from tests.ops.replica_app import Counted, app_databases, migrate, organizer, request, seed

ROOT = Path(__file__).resolve().parents[2]
# Below the kernel's range of ephemeral ports (32768-60999 here), so that no client
# connection of the suite can hold one of them when a cluster starts.
BASE_PORT = 24341  # 24341 primary, 24342 replica, 24343 pgbouncer
DB = "sosedi_replication"


@pytest.fixture(scope="module")
def stack(django_db_blocker):
    cluster = Stack(base_port=BASE_PORT, db=DB)
    try:
        cluster.start_primary()
        migrate(cluster.primary.url(DB))
        cluster.start_replica()
        cluster.start_pgbouncer()
        with (
            django_db_blocker.unblock(),
            app_databases(default=cluster.primary.url(DB), replica_url=None),
        ):
            cluster.seeded = seed()
        cluster.wait_replayed()
        yield cluster
    finally:
        cluster.destroy()


@pytest.fixture
def app(stack, django_db_blocker, settings):
    """The app on the primary and its replica (direct), lag checks every 0.5 s, at most 2 s."""
    settings.SOSEDI_REPLICA_CHECK_SECONDS = 0.5
    settings.SOSEDI_REPLICA_MAX_LAG_SECONDS = 2
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    with (
        django_db_blocker.unblock(),
        app_databases(
            default=stack.primary.url(DB), replica_url=stack.replica.url(DB), pooled=False
        ),
    ):
        yield stack


def lagging_pages(seeded: dict) -> list[tuple[str, str]]:
    """(who, path) of every may-lag view family: public ones and the organizer's."""
    segment = seeded["segment_pk"]
    return [
        ("public", "/map/"),
        ("public", "/map/embed/"),
        ("public", "/api/public/cells?bbox=36.5,55.3,38.5,56.1&zoom=8"),
        ("public", "/api/public/events"),
        ("public", "/api/public/groups"),
        ("public", "/events/"),
        ("public", "/groups/"),
        ("organizer", "/organize/"),
        ("organizer", "/organize/map/"),
        ("organizer", "/organize/growth.svg"),
        ("organizer", f"/organize/segments/{segment}/export/cells.csv"),
        ("organizer", f"/organize/segments/{segment}/export/cells.geojson"),
        ("organizer", f"/organize/segments/{segment}/export/people.csv"),
    ]


def check_flows(stack: Stack) -> dict[str, Counted]:
    """Every view family, asserting where its queries went; returns what each ran."""
    seeded = stack.seeded
    clients = {"public": Client(), "organizer": organizer(seeded)}
    seen: dict[str, Counted] = {}
    for who, path in lagging_pages(seeded):
        status, counted = request(clients[who], "get", path)
        assert status == 200, (path, status)
        assert counted.replica, f"{path} read nothing from the replica"
        assert not counted.primary_reads_of_lagging_tables(), (path, counted.primary)
        seen[path] = counted

    # Read-after-write pages and writes: the primary only.
    public = clients["public"]
    for method, path, data in [
        ("get", "/join/", None),
        ("get", f"/confirm/{seeded['confirm']}/", None),
        ("post", f"/confirm/{seeded['confirm']}/", {}),
        ("get", f"/manage/{seeded['manage']}/", None),
        ("get", "/nearby/", None),
        ("get", f"/organize/segments/{seeded['segment_pk']}/", None),
    ]:
        client = clients["organizer"] if path.startswith("/organize/") else public
        status, counted = request(client, method, path, **({"data": data} if data else {}))
        assert status == 200, (path, status)
        assert not counted.replica, (path, counted.replica)
        seen[f"{method} {path}"] = counted

    for page in ("post /confirm/", "get /manage/", "get /organize/segments/"):
        assert all(c.primary for key, c in seen.items() if key.startswith(page)), page

    # Joining through the form writes the person, their consents, the confirmation mail and
    # its job, all on the primary (through pgbouncer in the pooled test).
    from supporters.models import Supporter

    email = f"joined-{time.time_ns()}@example.org"
    join = {"display_name": "Joined", "email": email, "location_text": "Moscow",
            "consent_public_map": "on", "channel": "email", "frequency": "monthly"}  # fmt: skip
    status, counted = request(public, "post", "/join/", data=join)
    assert status == 302, status
    assert not counted.replica and Supporter.objects.filter(email=email).exists()
    seen["post /join/"] = counted

    # A segment made now exports at once: the segment row is read from the primary.
    name = f"Just made {time.time()}"
    status, counted = request(
        clients["organizer"], "post", "/organize/segments/",
        data={"name": name, "lat": 55.75, "lon": 37.62, "radius_km": 5},
    )  # fmt: skip
    assert status == 302, status
    assert not counted.replica
    from supporters.organize.models import Segment

    fresh = Segment.objects.get(name=name)
    status, counted = request(
        clients["organizer"], "get", f"/organize/segments/{fresh.pk}/export/cells.csv"
    )
    assert status == 200
    assert any("supporters_segment" in q for q in counted.primary)
    assert not any("supporters_segment" in q for q in counted.replica)
    return seen


# --- the tests ----------------------------------------------------------------------------


def test_every_view_family_reads_where_it_should(app):
    seen = check_flows(app)
    # Sessions, users and their second factor come from the primary even in a may-lag view.
    dashboard = seen["/organize/"]
    assert any("django_session" in q for q in dashboard.primary)
    assert not any(re.search(r"django_session|auth_user|otp_", q) for q in dashboard.replica)


def test_lag_is_measured_at_most_once_per_interval_per_process(app, settings):
    settings.SOSEDI_REPLICA_CHECK_SECONDS = 60
    replica.health.reset()
    probes = 0
    for _ in range(8):
        status, counted = request(Client(), "get", "/api/public/events")
        assert status == 200 and counted.replica
        probes += len(counted.probes)
    assert probes == 1
    # In development each may-lag response says where it read (make cluster-demo shows it).
    settings.DEBUG = True
    assert Client().get("/api/public/events")["X-Sosedi-Reads-From"] == "replica"
    assert "X-Sosedi-Reads-From" not in Client().get("/join/")


def test_a_stopped_replica_is_skipped_and_the_primary_answers(app, settings, caplog):
    seeded = app.seeded
    staff = organizer(seeded)
    assert request(Client(), "get", "/map/")[1].replica
    app.replica.stop("fast")
    try:
        with caplog.at_level(logging.WARNING, logger="ops.replica"):
            for client, path in [
                (Client(), "/map/"),
                (staff, "/organize/"),
                (Client(), "/api/public/cells?bbox=36.5,55.3,38.5,56.1&zoom=8"),
            ]:
                status, counted = request(client, "get", path)
                assert status == 200, path
                assert not counted.replica and counted.primary
        assert any("read replica skipped" in r.getMessage() for r in caplog.records)
        # Within the same check interval too: no request waits on the dead replica again.
        started = time.monotonic()
        assert request(Client(), "get", "/api/public/events")[0] == 200
        assert time.monotonic() - started < 2
    finally:
        app.replica.start()
        app.wait_streaming()
    # Back in use once a check finds it well again.
    time.sleep(settings.SOSEDI_REPLICA_CHECK_SECONDS)
    assert _eventually_on_replica("/map/")


def _eventually_on_replica(path: str, timeout: float = 20) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if request(Client(), "get", path)[1].replica:
            return True
        time.sleep(0.2)
    return False


def test_a_replica_whose_replay_is_paused_is_skipped_until_it_catches_up(app, caplog):
    from supporters.models import Event

    assert request(Client(), "get", "/events/")[1].replica
    app.replica.psql("SELECT pg_wal_replay_pause()", db=DB)
    try:
        # Writes keep coming to the primary; the replica receives them but does not replay.
        event = Event.objects.get()
        skipped_at = None
        deadline = time.monotonic() + 30
        with caplog.at_level(logging.WARNING, logger="ops.replica"):
            while time.monotonic() < deadline:
                Event.objects.filter(pk=event.pk).update(title=f"Tree planting {time.time()}")
                status, counted = request(Client(), "get", "/events/")
                assert status == 200
                if not counted.replica:
                    skipped_at = time.monotonic()
                    break
                time.sleep(0.2)
        assert skipped_at, "a replica that stopped replaying was never skipped"
        assert any("behind" in r.getMessage() for r in caplog.records)
        # Still skipped while paused: the page shows the primary's latest title.
        title = Event.objects.get().title
        status, counted = request(Client(), "get", "/api/public/events")
        assert status == 200 and not counted.replica
        assert title.encode() in Client().get("/api/public/events").content
    finally:
        app.replica.psql("SELECT pg_wal_replay_resume()", db=DB)
    app.wait_replayed()
    assert _eventually_on_replica("/events/")


def test_behind_pgbouncer_in_transaction_mode_the_flows_pass(stack, django_db_blocker, settings):
    settings.SOSEDI_REPLICA_CHECK_SECONDS = 0.5
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    with (
        django_db_blocker.unblock(),
        app_databases(
            default=stack.pooled_url(), replica_url=stack.pooled_url(replica=True), pooled=True
        ),
    ):
        assert connections["default"].settings_dict["PORT"] == stack.ports[2]
        check_flows(stack)
        # The connections really went through pgbouncer's pools.
        for alias, port in [("default", stack.primary.port), ("replica", stack.replica.port)]:
            with connections[alias].cursor() as cursor:
                cursor.execute("SELECT inet_server_port(), current_setting('statement_timeout')")
                assert cursor.fetchone() == (port, "30s")
    pools = subprocess.run(  # noqa: S603
        ["/usr/bin/psql", "-h", "127.0.0.1", "-p", str(stack.ports[2]), "-U", "postgres",
         "-d", "pgbouncer", "-Atc", "SHOW STATS"],
        capture_output=True, text=True, check=True, timeout=30,
    ).stdout  # fmt: skip
    served = {line.split("|")[0]: int(line.split("|")[2]) for line in pools.splitlines()}
    assert served[DB] > 0 and served[f"{DB}_replica"] > 0, pools


def test_behind_pgbouncer_a_stopped_replica_is_skipped_too(stack, django_db_blocker, settings):
    """pgbouncer accepts connections for a replica that is gone: the router must still see
    it. pgbouncer holds the first query for the dead server for query_wait_timeout (5 s),
    so the first request waits that long once; the rest answer at once from the primary."""
    settings.SOSEDI_REPLICA_CHECK_SECONDS = 60  # the stop falls between two lag checks
    staff_pages = [("/organize/", True), ("/map/", False), ("/api/public/events", False)]
    with (
        django_db_blocker.unblock(),
        app_databases(
            default=stack.pooled_url(), replica_url=stack.pooled_url(replica=True), pooled=True
        ),
    ):
        staff = organizer(stack.seeded)
        assert request(Client(), "get", "/map/")[1].replica
        stack.replica.stop("fast")
        try:
            took = []
            for path, as_staff in staff_pages:
                started = time.monotonic()
                status, counted = request(staff if as_staff else Client(), "get", path)
                took.append(time.monotonic() - started)
                assert status == 200, path
                assert not counted.replica and counted.primary, path
            assert took[0] < 5 + 3, took  # query_wait_timeout, then the primary
            assert max(took[1:]) < 2, took
        finally:
            stack.replica.start()
            stack.wait_streaming()


def test_settings_behind_pgbouncer_and_for_the_worker(stack):
    """SOSEDI_DB_POOLED turns off server-side prepares and cursors; SOSEDI_DB_DIRECT (the
    worker's unit) connects the process to DATABASE_DIRECT_URL instead of the pooler."""
    code = (
        "import json, django; django.setup(); from django.conf import settings as s;"
        "print(json.dumps({a: [d['PORT'], d['OPTIONS'].get('prepare_threshold', 'unset'),"
        " d.get('DISABLE_SERVER_SIDE_CURSORS', False)] for a, d in s.DATABASES.items()}))"
    )
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "SOSEDI_"))}
    base |= {
        "DJANGO_SETTINGS_MODULE": "mapsite.settings",
        "DATABASE_URL": stack.pooled_url(),
        "DATABASE_REPLICA_URL": stack.pooled_url(replica=True),
        "DATABASE_DIRECT_URL": stack.primary.url(DB),
        "SOSEDI_DB_POOLED": "true",
    }

    def databases(**extra) -> dict:
        out = subprocess.run(  # noqa: S603
            [sys.executable, "-c", code], cwd=ROOT, env={**base, **extra},
            capture_output=True, text=True, check=True, timeout=60,
        ).stdout  # fmt: skip
        import json

        return json.loads(out.strip().splitlines()[-1])

    web = databases()
    assert web["default"] == [stack.ports[2], None, True]
    assert web["replica"] == [stack.ports[2], None, True]
    worker = databases(SOSEDI_DB_DIRECT="true")
    assert worker["default"] == [stack.primary.port, "unset", False]


def test_the_worker_listens_directly_and_runs_jobs_deferred_through_pgbouncer(
    stack, django_db_blocker, tmp_path
):
    """As deployed: the web app defers jobs through pgbouncer, in its own transactions; the
    worker (SOSEDI_DB_DIRECT) LISTENs on a session of its own straight on PostgreSQL."""
    from supporters import services
    from tests.conftest import location_at

    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "SOSEDI_"))}
    env |= {
        "DATABASE_URL": stack.pooled_url(),
        "DATABASE_DIRECT_URL": stack.primary.url(DB),
        "SOSEDI_DB_POOLED": "true",
        "SOSEDI_DB_DIRECT": "true",
        "SOSEDI_MAP_REFRESH_CRON": "",
    }
    env.pop("EMAIL_URL", None)
    log = (tmp_path / "worker.log").open("w")
    worker = subprocess.Popen(  # noqa: S603
        [sys.executable, "manage.py", "procrastinate", "worker"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    listening = "SELECT client_port FROM pg_stat_activity WHERE query ILIKE 'listen%'"
    try:
        port = wait_for(lambda: stack.primary.psql(listening, db=DB), timeout=60,
                        what="the worker to LISTEN")  # fmt: skip
        with (
            django_db_blocker.unblock(),
            app_databases(default=stack.pooled_url(), replica_url=None, pooled=True),
        ):
            person = services.supporter_sign_up(
                email="through-the-pool@example.org",
                display_name="Pooled Person",
                location=location_at(lon=37.62, lat=55.75),
                consents=[],
                preferences=services.Preferences(channel="email", frequency="monthly", topics=[]),
                language="en",
            )
        done = (
            "SELECT count(*) FROM procrastinate_jobs j JOIN supporters_outboxmessage m"
            " ON m.id = (j.args->>'message_id')::bigint"
            f" WHERE m.supporter_id = '{person.pk}' AND j.status = 'succeeded'"
        )
        wait_for(lambda: stack.primary.psql(done, db=DB) == "1", timeout=60,
                 what="the worker to send the confirmation")  # fmt: skip
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
        log.close()
    # The LISTEN session is not one of pgbouncer's server connections.
    servers = subprocess.run(  # noqa: S603
        ["/usr/bin/psql", "-h", "127.0.0.1", "-p", str(stack.ports[2]), "-U", "postgres",
         "-d", "pgbouncer", "-AF", "|", "-c", "SHOW SERVERS"],
        capture_output=True, text=True, check=True, timeout=30,
    ).stdout.splitlines()  # fmt: skip
    column = servers[0].split("|").index("local_port")
    pooled_ports = {line.split("|")[column] for line in servers[1:] if "|" in line}
    assert port.split()[0] not in pooled_ports
