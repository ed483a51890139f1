"""Shared fixtures. Every test runs against the real PostGIS cluster from `make setup`."""

from unittest import mock

import pytest
from django.contrib.gis.geos import Point
from django.test import Client

from geo import hexgrid
from geo.geocoding import Location, Precision


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """The test database, migrated, with the real offline gazetteer loaded once.

    The gazetteer tables are unmanaged, so transactional tests' flushes leave them alone.
    """
    from django.db import connections

    from geo.gazetteer import gazetteer_load

    # Threads that run tasks (the worker's pool) close their connections after each task,
    # so that the test database can be dropped at the end.
    connections.settings["default"]["CONN_MAX_AGE"] = 0
    with django_db_blocker.unblock():
        gazetteer_load()


@pytest.fixture(autouse=True)
def _settings_for_tests(settings):
    settings.SITE_URL = "http://testserver"
    settings.SOSEDI_GEOCODER = ""


def location_at(
    *,
    lon: float,
    lat: float,
    city: str = "Testburg",
    region: str = "",
    country_code: str = "RU",
    precision: str = Precision.STREET,
) -> Location:
    cell, centre = hexgrid.snap(Point(lon, lat, srid=4326))
    return Location(
        cell=cell,
        centre=centre,
        precision=precision,
        source="test",
        city=city,
        region=region,
        country_code=country_code,
    )


@pytest.fixture
def make_supporter(db):
    """Build a real supporter (snapped to its cell) through the sign-up service."""
    from supporters import services
    from supporters.models import Supporter

    counter = iter(range(1, 10**6))

    def make(
        *,
        lon=37.62,
        lat=55.75,
        email=None,
        name="Test Person",
        consents=(),
        status=Supporter.Status.ACTIVE,
        language="en",
        **fields,
    ):
        n = next(counter)
        supporter = services.supporter_sign_up(
            email=email or f"person{n}@example.org",
            display_name=name,
            location=location_at(lon=lon, lat=lat),
            consents=consents,
            preferences=services.Preferences(channel="email", frequency="monthly", topics=[]),
            language=language,
        )
        if status == Supporter.Status.ACTIVE:
            supporter = services.supporter_confirm(supporter=supporter)
        elif status != Supporter.Status.PENDING:
            Supporter.objects.filter(pk=supporter.pk).update(status=status)
            supporter.refresh_from_db()
        if fields:
            Supporter.objects.filter(pk=supporter.pk).update(**fields)
            supporter.refresh_from_db()
        return supporter

    return make


@pytest.fixture
def run_worker(transactional_db):
    """Run the real procrastinate worker until the queue is empty (jobs must be committed)."""
    from django.db import connection
    from procrastinate.contrib.django import app

    # procrastinate's tables are unmanaged, so flushes between tests leave old jobs there.
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE procrastinate_jobs, procrastinate_periodic_defers CASCADE")

    def run(queues=None):
        # As `manage.py procrastinate worker` does: a psycopg connector of its own. Its
        # periodic deferrer is kept out: started within ten minutes of a cron tick it would
        # defer that tick's job too, so what a test finds would depend on the clock.
        with (
            mock.patch.dict(app.periodic_registry.periodic_tasks, clear=True),
            app.replace_connector(app.connector.get_worker_connector()) as worker_app,
        ):
            worker_app.run_worker(
                queues=queues, wait=False, install_signal_handlers=False, listen_notify=False
            )

    return run


def verified_client(user, device) -> Client:
    """A test client logged in as `user`, past the second step with `device`."""
    from django_otp import DEVICE_ID_SESSION_KEY

    client = Client()
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client
