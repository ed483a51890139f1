"""Batch nearest-locality lookup used by imports."""

import pytest
from django.contrib.gis.geos import Point

from geo.gazetteer import place_nearest
from geo.nearest import places_nearest

pytestmark = pytest.mark.django_db


def test_each_point_gets_the_same_locality_as_the_one_by_one_lookup():
    points = [(49.12, 55.79), (37.62, 55.75), (56.25, 58.01), (30.5, 59.9), (60.6, 56.84)]
    batch = places_nearest(points)
    single = [place_nearest(Point(lon, lat, srid=4326)) for lon, lat in points]
    assert [p.geonameid for p in batch] == [p.geonameid for p in single]
    assert batch[0].name == "Kazan"


def test_a_point_far_from_any_locality_gets_none_in_its_place():
    assert places_nearest([(-150.0, -45.0), (49.12, 55.79)])[0] is None
    assert places_nearest([]) == []
