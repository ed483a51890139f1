"""The app of this process pointed at throw-away clusters (tests/ops/test_replication.py):
DATABASES' default and replica aliases switched to them and back, a seeded database, and
each request's queries counted per alias."""

import copy
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import environ
from django.contrib.gis.geos import Point
from django.core.management import call_command
from django.db import connections
from django.test import Client
from django.utils import timezone

from ops import replica

ROOT = Path(__file__).resolve().parents[2]
LAG_PROBE = "pg_last_wal_replay_lsn"

# Tables only a may-lag view's replica reads touch; the same view must never read them on
# the primary (the hotspots' temporary tables excepted: a standby cannot create them).
LAGGING_TABLES = re.compile(
    r'FROM "?(geo_mapsnapshot|geo_publiccell|geo_publicarea|supporters_event|supporters_localgroup'
    r'|supporters_supporter)"?\b'
)

# --- the clusters and the app pointed at them ---------------------------------------------


def migrate(url: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "SOSEDI_DB"))}
    subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=ROOT, env={**env, "DATABASE_URL": url}, check=True, timeout=300,
    )  # fmt: skip


def _alias(url: str, *, like: dict, pooled: bool) -> dict:
    """A DATABASES entry for `url`, as mapsite/settings.py builds one (SOSEDI_DB_POOLED too)."""
    parsed = environ.Env.db_url_config(url)
    entry = copy.deepcopy(like)
    entry.update({k: parsed[k] for k in ("NAME", "USER", "PASSWORD", "HOST", "PORT")})
    entry["CONN_MAX_AGE"] = 0
    if pooled:
        entry["DISABLE_SERVER_SIDE_CURSORS"] = True
        entry["OPTIONS"] = {
            **{k: v for k, v in entry["OPTIONS"].items() if k != "options"},
            "prepare_threshold": None,
        }
    return entry


@contextmanager
def app_databases(*, default: str, replica_url: str | None, pooled: bool = False) -> Iterator:
    """Point the default alias (and a replica alias) of this process at the given servers."""
    saved = copy.deepcopy(connections.settings["default"])
    for alias in list(connections.settings):
        connections[alias].close()
        del connections[alias]
    connections.settings["default"] = _alias(default, like=saved, pooled=pooled)
    if replica_url:
        connections.settings[replica.REPLICA] = _alias(replica_url, like=saved, pooled=pooled)
    replica.health.reset()
    try:
        yield
    finally:
        for alias in list(connections.settings):
            connections[alias].close()
            del connections[alias]
        connections.settings.pop(replica.REPLICA, None)
        connections.settings["default"] = saved
        replica.health.reset()


def seed() -> dict:
    """Twelve confirmed supporters in one Moscow cell, a snapshot, an event, a group, a
    two-factor organizer and a segment: one of each thing the view families read."""
    from django.contrib.auth import get_user_model
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from geo.gazetteer import gazetteer_load
    from supporters import links, services
    from supporters.groups import services as groups
    from supporters.models import AreaArrival, Event, Supporter
    from supporters.organize.models import Segment
    from tests.conftest import location_at
    from tests.supporters.groups.conftest import draft

    gazetteer_load()  # the join form places a typed town through it
    people = []
    for n in range(12):
        person = services.supporter_sign_up(
            email=f"replica{n}@example.org",
            display_name=f"Replica Person {n}",
            location=location_at(lon=37.62, lat=55.75),
            consents=["public_map", "introductions", "event_invitations"],
            preferences=services.Preferences(channel="email", frequency="monthly", topics=[]),
            language="en",
        )
        people.append(services.supporter_confirm(supporter=person))
    long_ago = timezone.now() - timedelta(days=60)
    AreaArrival.objects.filter(supporter__in=people).update(arrived_at=long_ago)
    Supporter.objects.filter(pk__in=[p.pk for p in people]).update(confirmed_at=long_ago)
    call_command("refresh_map", verbosity=0)
    start = timezone.now() + timedelta(days=3)
    Event.objects.create(
        host=people[0], title="Tree planting", description="d", starts_at=start,
        ends_at=start + timedelta(hours=2), venue_name="Park", venue=Point(37.6, 55.7),
        timezone="Europe/Moscow", radius_km=5, status=Event.Status.APPROVED,
    )  # fmt: skip
    founder = Supporter.objects.get(pk=people[1].pk)
    group = groups.group_propose(founder=founder, draft=draft())
    groups.group_review(group=group, decision="approve", note="", reviewer=None)
    pending = services.supporter_sign_up(
        email="fresh@example.org",
        display_name="Fresh Person",
        location=location_at(lon=37.62, lat=55.75),
        consents=["public_map"],
        preferences=services.Preferences(channel="email", frequency="monthly", topics=[]),
        language="en",
    )
    user = get_user_model().objects.create_superuser(
        username="replica-admin", password="pw-Replica-2026!", email="admin@example.org"
    )
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    segment = Segment.objects.create(name="Moscow", created_by=user)
    return {
        "user_pk": user.pk,
        "device_pk": device.pk,
        "segment_pk": segment.pk,
        "confirm": links.CONFIRM.make(pending.pk),
        "manage": links.MANAGE.make(people[2].pk),
    }


def organizer(seeded: dict) -> Client:
    from django.contrib.auth import get_user_model
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from tests.conftest import verified_client

    user = get_user_model().objects.get(pk=seeded["user_pk"])
    return verified_client(user, TOTPDevice.objects.get(pk=seeded["device_pk"]))


class Counted:
    """The queries one request ran, per alias (the replica's lag probe kept apart)."""

    def __init__(self, primary: list[str], replica_: list[str]):
        self.primary = primary
        self.probes = [q for q in replica_ if LAG_PROBE in q]
        self.replica = [q for q in replica_ if LAG_PROBE not in q]

    def primary_reads_of_lagging_tables(self) -> list[str]:
        return [
            q
            for q in self.primary
            if q.lstrip().upper().startswith(("SELECT", "WITH"))
            and LAGGING_TABLES.search(q)
            and "hot_cells" not in q
        ]


def request(client: Client, method: str, path: str, **kw) -> tuple[int, Counted]:
    ran: dict[str, list[str]] = {"default": [], replica.REPLICA: []}

    def recorder(alias):
        def record(execute, sql, params, many, context):
            ran[alias].append(sql)
            return execute(sql, params, many, context)

        return record

    # execute_wrapper, not CaptureQueriesContext: that one connects, even to a stopped server.
    with (
        connections["default"].execute_wrapper(recorder("default")),
        connections[replica.REPLICA].execute_wrapper(recorder(replica.REPLICA)),
    ):
        response = getattr(client, method)(path, **kw)
    return response.status_code, Counted(ran["default"], ran[replica.REPLICA])
