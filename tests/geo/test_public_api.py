"""GET /api/public/cells and the /map/ pages: validation, caps, caching, framing, CSP."""

import re

import h3
import pytest
from django.urls import reverse

from geo.selectors import resolution_for_zoom
from geo.snapshot_models import MAX_PUBLIC_RESOLUTION, MapSnapshot
from tests.geo.test_snapshot import NOVOSIBIRSK, cell_at, refresh_map, seed_supporters

CELLS = reverse("api:public_cells")
MAP = reverse("public_map:map")
EMBED = reverse("public_map:embed")
LON, LAT = NOVOSIBIRSK
NEAR = f"{LON - 1},{LAT - 1},{LON + 1},{LAT + 1}"

pytestmark = pytest.mark.django_db


@pytest.fixture
def spread(db):
    """Eight resolution-7 cells of 12 people, 7 km apart on a line east of Novosibirsk."""
    people = []
    for i in range(8):
        people += seed_supporters(cell_at(LON + i * 0.12, LAT, resolution=7), 12)
    refresh_map()
    return people


@pytest.mark.parametrize(
    "query",
    [
        {},
        {"zoom": "5"},
        {"bbox": NEAR},
        {"bbox": "a,b,c,d", "zoom": "5"},
        {"bbox": "82,54,84", "zoom": "5"},
        {"bbox": "82,54,84,56,1", "zoom": "5"},
        {"bbox": "nan,54,84,56", "zoom": "5"},
        {"bbox": "82,54,inf,56", "zoom": "5"},
        {"bbox": "82,54,8.4e1,56", "zoom": "5"},
        {"bbox": "170,54,190,56", "zoom": "5"},
        {"bbox": "180.5,54,-170,56", "zoom": "5"},
        {"bbox": "82,-95,84,56", "zoom": "5"},
        {"bbox": NEAR, "zoom": "x"},
        {"bbox": NEAR, "zoom": "5.5"},
        {"bbox": NEAR, "zoom": "-1"},
        {"bbox": NEAR, "zoom": "19"},
    ],
)
def test_bad_queries_get_400_with_a_json_message(client, spread, query):
    response = client.get(CELLS, query)
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert isinstance(body["error"], str) and body["error"]
    assert "ETag" not in response


def test_the_largest_bbox_a_zoom_allows_is_accepted(client, spread):
    assert client.get(CELLS, {"bbox": "-180,-85,180,85", "zoom": "4"}).status_code == 200
    assert client.get(CELLS, {"bbox": "80,50,85.6,55.6", "zoom": "10"}).status_code == 200


def _features(client, bbox: str, zoom: int) -> tuple[int, list]:
    response = client.get(CELLS, {"bbox": bbox, "zoom": zoom})
    assert response.status_code == 200
    body = response.json()
    return body["resolution"], body["features"]


@pytest.mark.parametrize(
    ("bbox", "zoom", "spanning_zoom"),
    [
        (NEAR, 17, 11),  # 2° across: a zoom-11 view's width (2.8°), not a zoom-17 one's
        ("30,40,90,70", 8, 6),  # 60° across at zoom 8 (a view there is 22.5°)
        ("-180,-90,180,90", 18, 4),
    ],
)
def test_a_bbox_wider_than_a_view_at_its_zoom_is_served_as_at_the_zoom_that_spans_it(
    client, spread, bbox, zoom, spanning_zoom
):
    resolution, features = _features(client, bbox, zoom)
    assert (resolution, features) == _features(client, bbox, spanning_zoom)
    assert features and resolution <= resolution_for_zoom(spanning_zoom)
    assert all(h3.get_resolution(f["id"]) == resolution for f in features)
    assert all(f["properties"]["count"] >= 10 for f in features)


def test_the_zoom_17_view_of_a_city_shows_its_cells_no_finer_than_the_public_resolution(
    client, spread
):
    resolution, features = _features(client, NEAR, 17)
    assert resolution == MAX_PUBLIC_RESOLUTION and len(features) == 8


def test_a_west_east_of_east_crosses_the_antimeridian(client, spread):
    # Zoom 2 draws each of these at resolution 2: only the boxes differ.
    _, crossing = _features(client, "120,50,110,60", 2)  # 120°E eastwards to 110°E
    assert crossing and crossing == _features(client, "-180,50,110,60", 2)[1]
    assert _features(client, "110,50,120,60", 2)[1] == []


def test_south_and_north_may_come_in_either_order(client, spread):
    assert _features(client, f"{LON - 1},{LAT + 1},{LON + 1},{LAT - 1}", 10) == _features(
        client, NEAR, 10
    )


def test_a_bbox_of_no_width_is_the_line_it_draws(client, spread):
    resolution, features = _features(client, f"{LON},{LAT - 1},{LON},{LAT + 1}", 10)
    assert resolution == 7 and len(features) == 1


def test_the_response_is_a_geojson_feature_collection_of_hexagons(client, spread):
    response = client.get(CELLS, {"bbox": NEAR, "zoom": "10"})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/geo+json"
    body = response.json()
    assert body["type"] == "FeatureCollection" and body["resolution"] == 7
    assert body["snapshot"] == MapSnapshot.objects.get().version and not body["truncated"]
    assert len(body["features"]) == 8
    for feature in body["features"]:
        assert feature["type"] == "Feature" and feature["geometry"]["type"] == "Polygon"
        ring = feature["geometry"]["coordinates"][0]
        assert len(ring) == 7 and ring[0] == ring[-1]
        assert feature["id"] == feature["properties"]["cell"]
        assert h3.get_resolution(feature["id"]) == 7
        assert feature["properties"]["count"] >= 10


def test_too_many_cells_for_the_cap_are_served_at_a_coarser_resolution(client, spread, settings):
    zoom = 10
    assert len(client.get(CELLS, {"bbox": NEAR, "zoom": zoom}).json()["features"]) == 8
    settings.SOSEDI_MAP_MAX_CELLS = 3
    body = client.get(CELLS, {"bbox": NEAR, "zoom": zoom}).json()
    assert 1 <= len(body["features"]) <= 3
    assert body["resolution"] < resolution_for_zoom(zoom) and not body["truncated"]
    assert all(h3.get_resolution(f["id"]) == body["resolution"] for f in body["features"])


def test_even_the_coarsest_resolution_is_cut_to_the_cap(client, spread, settings):
    # Moscow and Novosibirsk lie in different resolution-1 cells.
    seed_supporters(cell_at(37.62, 55.75), 30)
    refresh_map()
    settings.SOSEDI_MAP_MAX_CELLS = 1
    body = client.get(CELLS, {"bbox": "-180,-85,180,85", "zoom": "2"}).json()
    assert body["resolution"] == 1 and body["truncated"] is True
    assert len(body["features"]) == 1


def test_responses_carry_cache_headers_tied_to_the_snapshot_version(client, spread, settings):
    query = {"bbox": NEAR, "zoom": "9"}
    first = client.get(CELLS, query)
    version = MapSnapshot.objects.get().version
    assert first["ETag"] == f'"map-{version}"'
    assert "public" in first["Cache-Control"]
    assert f"max-age={settings.SOSEDI_MAP_CACHE_SECONDS}" in first["Cache-Control"]
    assert first["Last-Modified"]

    again = client.get(CELLS, query, headers={"If-None-Match": first["ETag"]})
    assert again.status_code == 304 and again.content == b""
    assert again["ETag"] == first["ETag"]

    refresh_map()
    after = client.get(CELLS, query, headers={"If-None-Match": first["ETag"]})
    assert after.status_code == 200 and after["ETag"] != first["ETag"]


def test_before_the_first_snapshot_the_answer_is_empty_and_not_cached(client, db):
    response = client.get(CELLS, {"bbox": NEAR, "zoom": "9"})
    assert response.status_code == 200
    assert response.json() == {"type": "FeatureCollection", "snapshot": None, "features": []}
    assert "no-cache" in response["Cache-Control"]


def test_only_get_is_allowed(client, spread):
    assert client.post(CELLS, {"bbox": NEAR, "zoom": "9"}).status_code == 405


# --- the pages --------------------------------------------------------------------------


def _csp(response) -> dict[str, list[str]]:
    policy = {}
    for part in response["Content-Security-Policy"].split(";"):
        name, *values = part.split()
        policy[name] = values
    return policy


def _hosts(policy: dict[str, list[str]]) -> set[str]:
    return {v for values in policy.values() for v in values if "." in v or "://" in v}


def test_the_map_page_shows_the_total_the_join_call_and_the_embed_snippet(client, spread):
    response = client.get(MAP)
    assert response.status_code == 200
    page = response.content.decode()
    total = MapSnapshot.objects.get().areas.get(level="world").count
    assert f'<span class="headline-number">{total}</span>' in page
    assert reverse("supporters:join") in page
    assert 'id="public-map"' in page and 'id="map-legend"' in page
    assert '&lt;iframe src="http://testserver/map/embed/"' in page
    assert "leaflet-heat.js" in page and "topojson-client" in page
    for person in spread:
        assert person.display_name not in page and str(person.pk) not in page


def test_the_map_page_has_its_numbers_as_a_table_of_regions_and_towns(client, spread):
    snapshot = MapSnapshot.objects.get()
    regions = list(snapshot.areas.filter(level="region"))
    towns = list(snapshot.areas.filter(level="locality"))
    assert regions and towns, "the fixture's people give regions and towns of k or more"
    page = client.get(MAP).content.decode()
    table = page.split('id="areas"')[1].split("</table>")[0]
    assert table.count('class="area-region"') == len(regions)
    assert table.count('class="area-town"') == len(towns)
    for town in towns:  # each under its region's row, with its published count
        assert f'<td>{town.locality}</td><td class="count">{town.count}</td>' in table
    assert 'href="#areas"' in page  # a way past the map for keyboards and screen readers


def test_the_map_page_before_any_snapshot(client, db):
    response = client.get(MAP)
    assert response.status_code == 200
    assert "headline-number" not in response.content.decode()


def test_every_page_is_unframable_except_the_embed(client, spread):
    for url in (MAP, reverse("supporters:landing"), reverse("supporters:join")):
        response = client.get(url)
        assert response["X-Frame-Options"] == "DENY"
        assert _csp(response)["frame-ancestors"] == ["'none'"]
    embed = client.get(EMBED)
    assert embed.status_code == 200 and "X-Frame-Options" not in embed
    assert _csp(embed)["frame-ancestors"] == ["*"]
    assert 'id="public-map"' in embed.content.decode()


@pytest.mark.parametrize("url", [MAP, EMBED, CELLS + "?bbox=80,50,85,55&zoom=9"])
def test_the_content_security_policy_names_no_other_host(client, spread, url):
    # The base map is the app's own archive, or outlines: no tile server is configured.
    policy = _csp(client.get(url))
    assert policy["default-src"] == ["'self'"] and policy["script-src"] == ["'self'"]
    assert policy["connect-src"] == ["'self'"] and policy["style-src"] == ["'self'"]
    assert _hosts(policy) == set()


@pytest.mark.parametrize("url", [MAP, EMBED])
def test_the_map_pages_have_no_inline_script_and_load_nothing_from_elsewhere(client, spread, url):
    page = client.get(url).content.decode()
    for tag in re.findall(r"<script[^>]*>", page):
        assert "src=" in tag or 'type="application/json"' in tag, tag
    for ref in re.findall(r'(?:src|href)="([^"]+)"', page):
        assert ref.startswith(("/", "#", "http://testserver/")), ref


def test_the_navigation_and_the_landing_page_link_to_the_map(client, db):
    page = client.get(reverse("supporters:landing")).content.decode()
    assert page.count(f'href="{MAP}"') >= 2
