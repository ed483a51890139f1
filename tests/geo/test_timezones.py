"""Time zones of places, from the gazetteer's GeoNames zones."""

import importlib
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from django.contrib.gis.geos import Point
from django.core.exceptions import ValidationError
from django.db import connection

from geo.gazetteer import gazetteer_is_loaded
from geo.models import Place
from geo.timezones import timezone_at, validate_timezone, zone_label

NOVOSIBIRSK = 1496747


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("lon", "lat", "zone"),
    [
        (82.92, 55.03, "Asia/Novosibirsk"),
        (37.62, 55.75, "Europe/Moscow"),
        (20.51, 54.71, "Europe/Kaliningrad"),
        (158.65, 53.02, "Asia/Kamchatka"),
        (13.40, 52.52, "Europe/Berlin"),
        (-74.0, 40.7, "America/New_York"),
        # Nowhere near a town: the nearest one's zone (the taiga north of Krasnoyarsk).
        (93.0, 66.0, "Asia/Krasnoyarsk"),
    ],
)
def test_a_point_has_the_zone_of_the_nearest_locality(lon, lat, zone):
    assert timezone_at(Point(lon, lat, srid=4326)) == zone


@pytest.mark.parametrize(
    ("zone", "at", "label"),
    [
        ("Europe/Moscow", datetime(2027, 1, 10, tzinfo=UTC), "Europe/Moscow, MSK"),
        ("Asia/Novosibirsk", datetime(2027, 7, 10, tzinfo=UTC), "Asia/Novosibirsk, UTC+07:00"),
        ("Asia/Kolkata", datetime(2027, 7, 10, tzinfo=UTC), "Asia/Kolkata, IST"),
        ("Asia/Kathmandu", datetime(2027, 7, 10, tzinfo=UTC), "Asia/Kathmandu, UTC+05:45"),
        ("America/Sao_Paulo", datetime(2027, 7, 10, tzinfo=UTC), "America/Sao_Paulo, UTC-03:00"),
        ("Europe/Berlin", datetime(2027, 7, 10, tzinfo=UTC), "Europe/Berlin, CEST"),
        ("Europe/Berlin", datetime(2027, 1, 10, tzinfo=UTC), "Europe/Berlin, CET"),
        ("UTC", datetime(2027, 1, 10, tzinfo=UTC), "UTC"),
    ],
)
def test_a_zone_is_labelled_by_name_and_abbreviation_or_offset(zone, at, label):
    assert zone_label(zone, at) == label


def test_only_iana_zones_are_valid():
    validate_timezone("Asia/Novosibirsk")
    for bad in ("Mars/Olympus_Mons", "", "../etc/passwd"):
        with pytest.raises(ValidationError):
            validate_timezone(bad)


@pytest.mark.django_db
def test_every_locality_has_a_zone_and_a_gazetteer_without_zones_counts_as_not_loaded():
    assert not Place.objects.filter(timezone="").exists()
    assert Place.objects.get(pk=NOVOSIBIRSK).timezone == "Asia/Novosibirsk"
    assert gazetteer_is_loaded()
    Place.objects.filter(country_code="RU").update(timezone="")  # as an older loader left it
    # `load_gazetteer --if-empty` loads it again.
    assert not gazetteer_is_loaded()


@pytest.mark.django_db
def test_the_migration_gives_a_loaded_gazetteer_its_zones():
    migration = importlib.import_module("geo.migrations.0003_place_timezone")
    Place.objects.filter(country_code__in=["RU", "DE"]).update(timezone="")
    migration.fill_timezones(None, SimpleNamespace(connection=connection))
    assert not Place.objects.filter(timezone="").exists()
    assert Place.objects.get(pk=NOVOSIBIRSK).timezone == "Asia/Novosibirsk"
