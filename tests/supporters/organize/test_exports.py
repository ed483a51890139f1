"""Exports per role: cells for organizers, people for coordinators; cell centres only."""

import csv
import io
import json

import h3
import pytest
from django.contrib.gis.geos import Point
from django.urls import reverse

from supporters.organize.models import Segment, Tagging

pytestmark = pytest.mark.django_db


@pytest.fixture
def segment(make_supporter):
    anna = make_supporter(lon=49.1221, lat=55.7887, name="Анна К.", email="anna@example.org")
    Tagging.objects.create(supporter=anna, name="volunteer")
    make_supporter(lon=49.1222, lat=55.7888, name="Boris", email="boris@example.org")
    make_supporter(lon=49.20, lat=55.80, name="Vera", email="vera@example.org")
    make_supporter(lon=30.31, lat=59.94, name="Far Away", email="far@example.org")
    return Segment.objects.create(name="Kazan", centre=Point(49.12, 55.79, srid=4326), radius_km=15)


def url(segment, level, fmt):
    return reverse("organize:segment_export", args=[segment.pk, level, fmt])


def test_organizers_get_counts_per_cell_with_no_one_named(as_role, segment):
    response = as_role("organizer").get(url(segment, "cells", "csv"))
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    text = response.content.decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [int(r["supporters"]) for r in rows] == [2, 1]
    assert "example.org" not in text and "Анна" not in text
    cell = rows[0]["h3_cell"]
    lat, lon = h3.cell_to_latlng(cell)
    assert (float(rows[0]["cell_lat"]), float(rows[0]["cell_lon"])) == pytest.approx(
        (lat, lon), abs=1e-6
    )


def test_the_cell_geojson_is_a_feature_collection_of_cell_centres(as_role, segment):
    data = json.loads(as_role("organizer").get(url(segment, "cells", "geojson")).content)
    assert data["type"] == "FeatureCollection" and len(data["features"]) == 2
    top = data["features"][0]
    lat, lon = h3.cell_to_latlng(top["properties"]["h3_cell"])
    assert top["geometry"]["coordinates"] == pytest.approx([lon, lat], abs=1e-6)
    assert top["properties"]["supporters"] == 2


def test_organizers_may_not_export_people(as_role, segment):
    client = as_role("organizer")
    assert client.get(url(segment, "people", "csv")).status_code == 403
    assert client.get(url(segment, "people", "geojson")).status_code == 403


def test_coordinators_export_people_with_their_fields_and_cell_centres(as_role, segment):
    text = as_role("coordinator").get(url(segment, "people", "csv")).content.decode("utf-8-sig")
    rows = {r["email"]: r for r in csv.DictReader(io.StringIO(text))}
    assert set(rows) == {"anna@example.org", "boris@example.org", "vera@example.org"}
    anna = rows["anna@example.org"]
    assert anna["name"] == "Анна К." and anna["tags"] == "volunteer" and anna["status"] == "active"
    # The same point for Anna and Boris: the centre of their shared cell, not their pins.
    assert (anna["cell_lat"], anna["cell_lon"]) == (
        rows["boris@example.org"]["cell_lat"],
        rows["boris@example.org"]["cell_lon"],
    )
    assert anna["cell_lat"] != "55.7887"


def test_the_people_geojson_has_the_same_people(as_role, segment):
    data = json.loads(as_role("coordinator").get(url(segment, "people", "geojson")).content)
    assert sorted(f["properties"]["email"] for f in data["features"]) == [
        "anna@example.org",
        "boris@example.org",
        "vera@example.org",
    ]


def test_an_unknown_export_is_not_found(as_role, segment):
    client = as_role("admin")
    assert client.get(url(segment, "everything", "csv")).status_code == 404
    assert client.get(url(segment, "cells", "xlsx")).status_code == 404
