"""FeatureCollections built by PostGIS (geo/geojson.py)."""

import json

import pytest

from geo.geojson import feature_collection

pytestmark = pytest.mark.django_db

POINTS = (
    "SELECT * FROM (VALUES"
    " (2, 'Пермь', ST_SetSRID(ST_MakePoint(56.2294, 58.0106), 4326)),"
    " (1, 'Moscow', ST_SetSRID(ST_MakePoint(37.617812, 55.755864), 4326))"
    ") AS t(n, name, geom) WHERE n <= %s"
)


def test_rows_become_features_in_order_with_their_properties_and_id():
    text, count = feature_collection(
        source=POINTS,
        params=[2],
        geometry="f.geom",
        properties={"name": "f.name", "n": "f.n"},
        feature_id="f.n",
        order_by="f.n",
        precision=3,
    )
    assert count == 2
    assert json.loads(text) == {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "id": 1,
                "geometry": {"type": "Point", "coordinates": [37.618, 55.756]},
                "properties": {"name": "Moscow", "n": 1},
            },
            {
                "type": "Feature",
                "id": 2,
                "geometry": {"type": "Point", "coordinates": [56.229, 58.011]},
                "properties": {"name": "Пермь", "n": 2},
            },
        ],
    }


def test_members_come_before_the_features_as_json_values():
    text, _ = feature_collection(
        source=POINTS,
        params=[1],
        geometry="f.geom",
        properties={},
        members={"snapshot": 7, "truncated": False, "note": None},
    )
    assert text.index('"snapshot" : 7') < text.index('"truncated" : false') < text.index("features")
    assert json.loads(text)["note"] is None


def test_no_rows_is_an_empty_collection_not_null():
    text, count = feature_collection(
        source=POINTS, params=[0], geometry="f.geom", properties={"name": "f.name"}
    )
    assert (text, count) == ('{"type" : "FeatureCollection", "features" : []}', 0)


@pytest.mark.parametrize("name", ["it's", "a b", "Name", ""])
def test_only_plain_names_are_written_into_the_sql(name):
    with pytest.raises(ValueError):
        feature_collection(source=POINTS, params=[1], geometry="f.geom", properties={name: "1"})
    with pytest.raises(ValueError):
        feature_collection(
            source=POINTS, params=[1], geometry="f.geom", properties={}, members={name: 1}
        )
