"""The organizers' folium heatmap: local assets only, and the app's shared base layer
(tiles, or country outlines without them) at a small cost."""

import json
import re
from pathlib import Path

from django.contrib.staticfiles import finders
from django.templatetags.static import static

from geo.heatmap import OUTLINES, CellCount, MapAssets, figure_html, heatmap_figure

CELLS = [
    CellCount(cell=0, lat=55.75, lon=37.62, count=40),
    CellCount(cell=1, lat=55.03, lon=82.92, count=12),
]


def _assets() -> MapAssets:
    return MapAssets(
        leaflet_js=static("leaflet/leaflet.js"),
        leaflet_css=static("leaflet/leaflet.css"),
        heat_js=static("vendor/leaflet.heat/leaflet-heat.js"),
        extra_js=(static("js/organize-map.js"),),
    )


def _html(tile_url: str) -> str:
    fmap = heatmap_figure(
        CELLS,
        assets=_assets(),
        tile_url=tile_url,
        attribution="© tiles",
        center=(55.75, 37.62),
        zoom=4,
    )
    return figure_html(fmap, nonce="n0nce")


def _base_layer_config(html: str) -> dict:
    call = re.search(r'window\["sosediBaseLayer"\]\(\w+, (\{.*?\})\);', html)
    return json.loads(call.group(1))


def test_without_tiles_the_heatmap_draws_the_shared_outlines_base_layer():
    html = _html("")
    scripts = re.findall(r'<script[^>]* src="([^"]+)"', html)
    assert static("js/base-layer.js") in scripts
    assert static("vendor/topojson-client/topojson-client.min.js") in scripts
    # The vector base map's renderer before the shared module that uses it.
    assert scripts.index(static("vendor/protomaps-leaflet/protomaps-leaflet.js")) < scripts.index(
        static("js/base-layer.js")
    )
    # The shared module after Leaflet, the app's own hook after it.
    assert scripts.index(static("leaflet/leaflet.js")) < scripts.index(static("js/base-layer.js"))
    config = _base_layer_config(html)
    assert config == {
        "tileUrl": "",
        "attribution": "",
        "maxZoom": 18,
        "outlinesUrl": static(OUTLINES),
        "lang": "en",  # the base map's labels in the organizer's language
        "strings": {"zoomIn": "Zoom in", "zoomOut": "Zoom out"},  # Leaflet's, in it too
    }
    assert "L.tileLayer" not in html  # the module adds tiles, and watches them fail


def test_configured_tiles_go_to_the_base_layer_which_falls_back_to_outlines():
    config = _base_layer_config(_html("https://tiles.example.org/{z}/{x}/{y}.png"))
    assert config["tileUrl"] == "https://tiles.example.org/{z}/{x}/{y}.png"
    assert config["attribution"] == "© tiles"
    assert config["outlinesUrl"] == static(OUTLINES)


def test_the_framed_heatmap_is_in_the_language_of_the_page_it_is_made_for():
    from django.utils import translation

    for language in ("en", "ru"):
        with translation.override(language):
            html = _html("")
        assert re.search(r"<html[^>]*>", html).group(0) == f'<html lang="{language}">'
    assert _base_layer_config(html)["strings"] == {"zoomIn": "Приблизить", "zoomOut": "Отдалить"}


def test_the_heatmap_with_its_assets_and_outlines_stays_well_under_2_mb():
    html = _html("")
    urls = re.findall(r'(?:src|href)="([^"]+)"', html) + [static(OUTLINES)]
    assert all(u.startswith("/static/") for u in urls), urls
    files = [Path(finders.find(u.removeprefix("/static/"))) for u in urls]
    outlines = files[-1].stat().st_size
    total = len(html.encode()) + sum(f.stat().st_size for f in files)
    assert outlines < 150_000  # the 1:110m countries
    assert total < 1_000_000, total


def test_one_pass_counts_a_queryset_and_its_subset_as_two_passes_would(make_supporter):
    from django.db.models import Q

    from geo.heatmap import cell_counts, cell_counts_and_subset
    from supporters.models import Supporter

    for i, (lon, lat) in enumerate([(37.62, 55.75)] * 3 + [(37.70, 55.80)] * 2 + [(82.92, 55.03)]):
        make_supporter(lon=lon, lat=lat, status="pending" if i % 2 else "active")
    people = Supporter.objects.all()
    both = cell_counts_and_subset(people, Q(status="active"))
    assert both == (cell_counts(people), cell_counts(people.filter(status="active")))
    assert [c.count for c in both[0]] == [3, 2, 1] and sum(c.count for c in both[1]) == 3
