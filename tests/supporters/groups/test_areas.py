"""A group's area through the proposal page: bad areas are form errors (400) that write
nothing, a drawn polygon and a town are accepted as they should be; and geo/areas.py on
its own (sizes measured by PostGIS on the spheroid)."""

import html
import json
import math

import pytest
from django.conf import settings
from django.contrib.gis.geos import Point
from django.urls import reverse

from geo import areas
from geo.gazetteer import places_named
from supporters.groups.models import GroupMembership, LocalGroup
from supporters.models import OutboxMessage, RateLimitEvent

pytestmark = pytest.mark.django_db

MOSCOW = (37.62, 55.75)
PROPOSAL = {"name": "Соседи", "description": "Деревья и набережная", "language": "ru"}
CIRCLE = {**PROPOSAL, "area_kind": "circle", "pin_lat": "55.75", "pin_lon": "37.62",
          "radius_km": "5"}  # fmt: skip


def ring(corners: list[tuple[float, float]]) -> list[list[float]]:
    return [list(c) for c in [*corners, corners[0]]]


def square(side_km: float, centre=MOSCOW) -> dict:
    """A GeoJSON square of about `side_km` on each side (degrees scaled at its latitude)."""
    lon, lat = centre
    dlat = side_km / 2 / 111.32
    dlon = side_km / 2 / (111.32 * math.cos(math.radians(lat)))
    corners = [(lon - dlon, lat - dlat), (lon + dlon, lat - dlat), (lon + dlon, lat + dlat),
               (lon - dlon, lat + dlat)]  # fmt: skip
    return {"type": "Polygon", "coordinates": [ring(corners)]}


def regular(n: int, radius_km: float = 5, centre=MOSCOW) -> dict:
    """A GeoJSON polygon of `n` corners on a circle (valid, about π r² in area)."""
    lon, lat = centre
    corners = [
        (lon + radius_km / (111.32 * math.cos(math.radians(lat))) * math.cos(2 * math.pi * i / n),
         lat + radius_km / 111.32 * math.sin(2 * math.pi * i / n))
        for i in range(n)
    ]  # fmt: skip
    return {"type": "Polygon", "coordinates": [ring(corners)]}


def drawn(shape) -> dict:
    text = shape if isinstance(shape, str) else json.dumps(shape)
    return {**PROPOSAL, "area_kind": "polygon", "polygon": text}


def written() -> dict[str, int]:
    models = (LocalGroup, GroupMembership, OutboxMessage, RateLimitEvent)
    return {m.__name__: m.objects.count() for m in models}


@pytest.fixture
def proposer(activist, signed_in):
    return signed_in(activist(name="Анна Лидер"))


def bow_tie() -> dict:
    lon, lat = MOSCOW
    corners = [(lon - 0.05, lat - 0.03), (lon + 0.05, lat + 0.03), (lon + 0.05, lat - 0.03),
               (lon - 0.05, lat + 0.03)]  # fmt: skip
    return {"type": "Polygon", "coordinates": [ring(corners)]}


BAD = {
    "a circle of 1.9 km": ({**CIRCLE, "radius_km": "1.9"}, "greater than or equal to 2"),
    "a circle of 25.1 km": ({**CIRCLE, "radius_km": "25.1"}, "less than or equal to 25"),
    "a circle with no pin": (
        {k: v for k, v in CIRCLE.items() if k not in ("pin_lat", "pin_lon")},
        "Click the map on the circle's centre.",
    ),
    "a circle with no radius": ({**CIRCLE, "radius_km": ""}, "Give the circle's radius."),
    "a pin off the map": ({**CIRCLE, "pin_lat": "95"}, "Click the map on the circle's centre."),
    "a 1 km square": (drawn(square(1)), "The area must be at least 5.2 km²"),
    "a bow-tie": (drawn(bow_tie()), "The area's edges cross each other"),
    "501 corners": (drawn(regular(501)), "at most 500 points"),
    "a square of 4° by 3°": (
        drawn(square(330)),
        f"The area must be at most {settings.SOSEDI_GROUP_MAX_AREA_KM2} km²",
    ),
    "an area off the map": (drawn(square(4, centre=(200, 55.75))), "outside the map"),
    "no polygon": (drawn(""), "Draw one area on the map."),
    "text that is not JSON": (drawn('{"type": "Polygon", "coordinates": [[[37.6'), "Draw one"),
    "a JSON list": (drawn("[1, 2]"), "Draw one area on the map."),
    "a JSON string": (drawn('"Хамовники"'), "Draw one area on the map."),
    "a point": (drawn({"type": "Point", "coordinates": list(MOSCOW)}), "Draw one area"),
    "two polygons": (
        drawn({"type": "MultiPolygon", "coordinates": [square(4)["coordinates"]]}),
        "Draw one area on the map.",
    ),
    "a ring of two points": (
        drawn({"type": "Polygon", "coordinates": [[[37.6, 55.7], [37.7, 55.7]]]}),
        "Draw one area on the map.",
    ),
    "a ring left open": (
        drawn({"type": "Polygon", "coordinates": [square(4)["coordinates"][0][:-1]]}),
        "Draw one area on the map.",
    ),
    "coordinates that are words": (
        drawn({"type": "Polygon", "coordinates": [[["a", "b"], ["c", "d"], ["e", "f"]]]}),
        "Draw one area on the map.",
    ),
    "an empty ring": (drawn({"type": "Polygon", "coordinates": [[]]}), "Draw one area"),
    "a feature with no geometry": (drawn({"type": "Feature", "geometry": None}), "Draw one"),
    "a town nobody knows": (
        {**PROPOSAL, "area_kind": "town", "location_text": "Несуществующийград"},
        "We could not find",
    ),
    "no town": ({**PROPOSAL, "area_kind": "town", "location_text": ""}, "Name the group's town."),
}


@pytest.mark.parametrize("form, reason", BAD.values(), ids=BAD.keys())
def test_a_bad_area_is_a_form_error_that_writes_nothing(proposer, form, reason):
    before = written()
    response = proposer.post(reverse("groups:new"), form)
    assert response.status_code == 400
    assert reason in html.unescape(response.content.decode())
    assert written() == before


def test_an_area_over_the_maximum_is_refused_also_as_a_circle(proposer, settings):
    settings.SOSEDI_GROUP_MAX_AREA_KM2 = 50  # a 5 km circle is about 78 km²
    response = proposer.post(reverse("groups:new"), CIRCLE)
    assert response.status_code == 400
    assert "The area must be at most 50 km²" in html.unescape(response.content.decode())
    assert not LocalGroup.objects.exists()


@pytest.mark.parametrize(
    "shape",
    [square(4), {"type": "Feature", "properties": {}, "geometry": square(4)}, regular(500)],
    ids=["a 4 km square", "a feature holding it", "500 corners"],
)
def test_a_drawn_polygon_is_accepted_as_drawn(proposer, shape):
    response = proposer.post(reverse("groups:new"), drawn(shape))
    group = LocalGroup.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/groups/{group.pk}/"
    assert (group.area_kind, group.radius_km, group.status) == ("polygon", None, "proposed")
    geometry = shape.get("geometry", shape)
    expected = areas.area_km2(areas.polygon_from_geojson(json.dumps(geometry)))
    assert areas.area_km2(group.area) == pytest.approx(expected, rel=1e-6)
    assert group.area.intersects(group.centre)
    assert GroupMembership.objects.get(group=group).role == "leader"


def test_a_polygon_with_heights_is_kept_flat(proposer):
    shape = square(4)
    shape["coordinates"] = [[[*corner, 150.0] for corner in shape["coordinates"][0]]]
    assert proposer.post(reverse("groups:new"), drawn(shape)).status_code == 302
    group = LocalGroup.objects.get()
    assert not group.area.hasz and areas.area_km2(group.area) == pytest.approx(16, rel=0.01)


def test_a_4_km_square_measures_16_km2():
    assert areas.area_km2(areas.polygon_from_geojson(json.dumps(square(4)))) == pytest.approx(
        16, rel=0.01
    )


def test_a_town_becomes_a_circle_of_the_town_radius_named_after_it(proposer):
    response = proposer.post(
        reverse("groups:new"),
        {**PROPOSAL, "area_kind": "town", "location_text": "Москва"},
        HTTP_ACCEPT_LANGUAGE="ru",
    )
    group = LocalGroup.objects.get()
    assert response.status_code == 302
    radius = settings.SOSEDI_GROUP_TOWN_RADIUS_KM
    assert (group.area_kind, group.area_name, group.radius_km) == ("town", "Москва", radius)
    moscow = places_named("Москва", limit=1)[0].point
    # Around the town's cell centre: within a resolution-8 cell (under 1 km) of the town.
    assert _metres(group.centre, moscow) < 1000
    assert areas.area_km2(group.area) == pytest.approx(math.pi * radius**2, rel=0.01)
    assert max(_metres(group.centre, Point(*xy, srid=4326)) for xy in group.area.coords[0]) == (
        pytest.approx(radius * 1000, rel=0.01)
    )


def _metres(a: Point, b: Point) -> float:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT ST_Distance(ST_GeomFromEWKT(%s)::geography, ST_GeomFromEWKT(%s)::geography)",
            [a.ewkt, b.ewkt],
        )
        return cursor.fetchone()[0]


@pytest.mark.parametrize("consents", [["email_updates"], ["map"], []])
def test_a_supporter_open_to_neither_introductions_nor_invitations_is_told_why(
    make_supporter, signed_in, consents
):
    page = signed_in(make_supporter(consents=consents))
    before = written()
    response = page.post(reverse("groups:new"), CIRCLE)
    assert response.status_code == 400
    assert "allow introductions or event invitations on your preferences page first" in (
        html.unescape(response.content.decode())
    )
    assert written() == before


@pytest.mark.parametrize("consents", [["introductions"], ["event_invitations"]])
def test_either_consent_is_enough_to_propose(make_supporter, signed_in, consents):
    page = signed_in(make_supporter(consents=consents))
    assert page.post(reverse("groups:new"), CIRCLE).status_code == 302


# --- geo/areas.py ----------------------------------------------------------------------


@pytest.mark.parametrize("radius_km", [2, 5, 25])
def test_area_km2_of_a_circle_is_pi_r_squared_within_1_percent(radius_km):
    centre = Point(*MOSCOW, srid=4326)
    assert areas.area_km2(areas.circle(centre, radius_km)) == pytest.approx(
        math.pi * radius_km**2, rel=0.01
    )


def test_the_smallest_area_is_a_resolution_7_hexagon():
    assert areas.min_area_km2() == pytest.approx(5.16, abs=0.01)
    centre = Point(*MOSCOW, srid=4326)
    with pytest.raises(areas.AreaError):
        areas.area_check(areas.circle(centre, 1.2))  # 4.5 km²
    assert areas.area_check(areas.circle(centre, 1.4)) == pytest.approx(6.16, rel=0.01)


def test_polygon_from_geojson_reads_a_polygon_or_a_feature_and_refuses_the_rest():
    shape = areas.polygon_from_geojson(json.dumps(square(4)))
    assert shape.geom_type == "Polygon" and shape.srid == 4326 and shape.num_coords == 5
    feature = {"type": "Feature", "geometry": square(4)}
    assert areas.polygon_from_geojson(json.dumps(feature)).equals(shape)
    for text in ("", "null", "{}", "[]", json.dumps(bow_tie()), json.dumps(regular(501))):
        with pytest.raises(areas.AreaError):
            areas.polygon_from_geojson(text)
