"""Counts per H3 cell for the organizers' heatmap, and the heatmap itself (folium).

folium loads Leaflet, jQuery, Bootstrap and its plugins from CDNs by default. Here every
asset is a URL of the app's static files, and the page carries only the scripts and
styles the heatmap needs, so it makes no third-party request.
"""

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import folium
from branca.element import MacroElement
from django.db import connections
from django.db.models import BooleanField, ExpressionWrapper, Q, QuerySet, Value
from django.templatetags.static import static
from django.utils.translation import get_language, gettext
from folium.plugins import HeatMap
from folium.template import Template
from h3.api import basic_int as h3_int

from geo.snapshot import h3_parent_sql

HEATMAP_RESOLUTION = 8
# The fallback base layer's outlines: the heatmap is an overview, and the 1:110m countries
# (~108 kB, fetched only when there are no tiles) are enough for it.
OUTLINES = "vendor/world-atlas/countries-110m.json"


@dataclass(frozen=True, slots=True)
class CellCount:
    cell: int
    lat: float
    lon: float
    count: int


def cell_counts(queryset: QuerySet, *, resolution: int = HEATMAP_RESOLUTION) -> list[CellCount]:
    """How many rows of `queryset` (which has a `cell` column) fall in each H3 cell.

    Cells finer than `resolution` are counted in their parent; the count happens in SQL
    and Python then touches each cell once, to place its centre.
    """
    return _placed((cell, n) for cell, n, _ in _count(queryset, None, resolution))


def cell_counts_and_subset(
    queryset: QuerySet, subset: Q, *, resolution: int = HEATMAP_RESOLUTION
) -> tuple[list[CellCount], list[CellCount]]:
    """`cell_counts` of `queryset` and of `queryset.filter(subset)`, in one pass over the
    rows (each list ordered as `cell_counts` orders it)."""
    rows = _count(queryset, subset, resolution)
    within = sorted(((cell, m) for cell, _, m in rows if m), key=lambda r: (-r[1], r[0]))
    return _placed((cell, n) for cell, n, _ in rows), _placed(within)


def _count(queryset: QuerySet, subset: Q | None, resolution: int) -> list[tuple[int, int, int]]:
    """(cell, rows, rows matching `subset`) per cell, largest first."""
    queryset = queryset.order_by().annotate(
        in_subset=ExpressionWrapper(subset if subset is not None else Value(True), BooleanField())
    )
    inner, params = queryset.values("cell", "in_subset").query.sql_with_params()
    parent = h3_parent_sql("q.cell", "%s")
    with connections[queryset.db].cursor() as cursor:
        cursor.execute(
            f"""
            SELECT CASE WHEN ((q.cell >> 52) & 15) > %s THEN {parent} ELSE q.cell END AS c,
                   count(*), count(*) FILTER (WHERE q.in_subset)
            FROM ({inner}) q GROUP BY 1 ORDER BY 2 DESC, 1
            """,
            [resolution, resolution, resolution, *params],
        )
        return cursor.fetchall()


def _placed(counts) -> list[CellCount]:
    centre = h3_int.cell_to_latlng  # on the integer index: no round trip through strings
    return [CellCount(cell, *centre(cell), count) for cell, count in counts]


def _static(path: str):
    return field(default_factory=lambda: static(path))


@dataclass(frozen=True)
class MapAssets:
    """Local URLs of the scripts and styles a folium heatmap needs."""

    leaflet_js: str
    leaflet_css: str
    heat_js: str
    extra_js: tuple[str, ...] = ()
    extra_css: tuple[str, ...] = ()
    # The base layer every map of the app shares: the base map (the app's own vector tiles
    # drawn by protomaps-leaflet, or a tile server's), or country outlines without one.
    topojson_js: str = _static("vendor/topojson-client/topojson-client.min.js")
    protomaps_js: str = _static("vendor/protomaps-leaflet/protomaps-leaflet.js")
    base_layer_js: str = _static("js/base-layer.js")
    outlines_url: str = _static(OUTLINES)


def heatmap_figure(
    cells: Sequence[CellCount],
    *,
    assets: MapAssets,
    tile_url: str,
    attribution: str,
    center: tuple[float, float],
    zoom: int,
    hook: tuple[str, dict] | None = None,
) -> folium.Map:
    """A folium map with one weighted heat point per cell (never one per person).

    `hook` names a global JavaScript function (from `assets.extra_js`) that is called with
    the Leaflet map and a JSON-ready config once the map exists.
    """

    class LocalMap(folium.Map):
        default_js = [
            ("leaflet", assets.leaflet_js),
            ("topojson", assets.topojson_js),
            ("protomaps", assets.protomaps_js),
            ("base_layer", assets.base_layer_js),
        ] + [(f"extra_js_{i}", url) for i, url in enumerate(assets.extra_js)]
        default_css = [("leaflet_css", assets.leaflet_css)] + [
            (f"extra_css_{i}", url) for i, url in enumerate(assets.extra_css)
        ]

    class LocalHeatMap(HeatMap):
        default_js = [("leaflet-heat.js", assets.heat_js)]

    if cells:
        lats = [c.lat for c in cells]
        lons = [c.lon for c in cells]
        bounds = [[min(lats), min(lons)], [max(lats), max(lons)]]
    else:
        bounds = None
    fmap = LocalMap(
        location=list(center),
        zoom_start=zoom,
        tiles=None,
        control_scale=True,
        prefer_canvas=True,
    )
    # The base map, or the outlines when there is none or it fails (static/js/base-layer.js);
    # labels in the page's language.
    _Call(
        "sosediBaseLayer",
        {
            "tileUrl": tile_url,
            "attribution": attribution if tile_url else "",
            "maxZoom": 18,
            "outlinesUrl": assets.outlines_url,
            "lang": get_language() or "en",
            "strings": {"zoomIn": gettext("Zoom in"), "zoomOut": gettext("Zoom out")},
        },
    ).add_to(fmap)
    if cells:
        top = max(c.count for c in cells)
        LocalHeatMap(
            [[round(c.lat, 5), round(c.lon, 5), c.count] for c in cells],
            name="supporters",
            radius=18,
            blur=14,
            min_opacity=0.35,
            max_zoom=12,
            # leaflet.heat sums overlapping points; `max` scales the ramp to the densest cell.
            max=top,
        ).add_to(fmap)
        if len(cells) > 1:
            fmap.fit_bounds(bounds, padding=(20, 20))
    if hook is not None:
        _Call(*hook).add_to(fmap)
    return fmap


class _Call(MacroElement):
    """Calls a global function of the app's scripts with the Leaflet map and a config."""

    _template = Template(
        """{% macro script(this, kwargs) %}
        window[{{ this.function|tojson }}]({{ this._parent.get_name() }}, {{ this.config|tojson }});
        {% endmacro %}"""
    )

    def __init__(self, function: str, config: dict):
        super().__init__()
        self._name = "SosediHook"
        self.function = function
        self.config = config


_INLINE = re.compile(r"<(script|style)(?=[\s>])", re.IGNORECASE)


def figure_html(fmap: folium.Map, *, nonce: str) -> str:
    """The map as a whole HTML document, every inline script and style carrying `nonce`.

    The page's Content-Security-Policy allows inline code only with that nonce, so the
    markup folium generates runs and nothing injected into it would.
    """
    html = fmap.get_root().render()
    # A framed document does not inherit its page's language: name it, for screen readers.
    html = re.sub(r"<html(?=[\s>])", f'<html lang="{get_language() or "en"}"', html, count=1)
    return _INLINE.sub(lambda m: f'<{m.group(1)} nonce="{nonce}"', html)
