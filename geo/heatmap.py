"""Counts per H3 cell for the organizers' heatmap, and the heatmap itself (folium).

folium loads Leaflet, jQuery, Bootstrap and its plugins from CDNs by default. Here every
asset is a URL of the app's static files, and the page carries only the scripts and
styles the heatmap needs, so it makes no third-party request.
"""

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import folium
import numpy as np
from branca.element import MacroElement
from django.db import connections
from django.db.models import BooleanField, ExpressionWrapper, Q, QuerySet, Value
from django.templatetags.static import static
from django.utils.translation import get_language, gettext
from folium.elements import JSCSSMixin
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


class CellCounts:
    """Counts per H3 cell, with each cell's centre, as arrays (index, lat, lon, count):
    a heatmap of a million people has some 60,000 of them, which neither the heat layer
    nor the hotspots need one Python object each for. Iterating gives CellCounts."""

    __slots__ = ("cell", "count", "lat", "lon")

    def __init__(self, cell: np.ndarray, lat: np.ndarray, lon: np.ndarray, count: np.ndarray):
        self.cell, self.lat, self.lon, self.count = cell, lat, lon, count

    @classmethod
    def of(cls, cells: "Sequence[CellCount] | CellCounts") -> "CellCounts":
        if isinstance(cells, CellCounts):
            return cells
        n = len(cells)
        return cls(
            np.fromiter((c.cell for c in cells), dtype=np.int64, count=n),
            np.fromiter((c.lat for c in cells), dtype=np.float64, count=n),
            np.fromiter((c.lon for c in cells), dtype=np.float64, count=n),
            np.fromiter((c.count for c in cells), dtype=np.int64, count=n),
        )

    def __len__(self) -> int:
        return len(self.cell)

    def __iter__(self):
        for cell, lat, lon, count in zip(
            self.cell.tolist(),
            self.lat.tolist(),
            self.lon.tolist(),
            self.count.tolist(),
            strict=True,
        ):
            yield CellCount(cell, lat, lon, count)

    def __eq__(self, other) -> bool:
        return isinstance(other, CellCounts) and all(
            np.array_equal(getattr(self, a), getattr(other, a)) for a in self.__slots__
        )

    __hash__ = None


def cell_counts(queryset: QuerySet, *, resolution: int = HEATMAP_RESOLUTION) -> CellCounts:
    """How many rows of `queryset` (which has a `cell` column) fall in each H3 cell, the
    most first (ties by cell index).

    Cells finer than `resolution` are counted in their parent; the count happens in SQL
    and Python then touches each cell once, to place its centre.
    """
    return counts_placed(_count(queryset, None, resolution))[0]


def cell_counts_and_subset(
    queryset: QuerySet, subset: Q, *, resolution: int = HEATMAP_RESOLUTION
) -> tuple[CellCounts, CellCounts]:
    """`cell_counts` of `queryset` and of `queryset.filter(subset)`, in one pass over the
    rows (each ordered as `cell_counts` orders it)."""
    return counts_placed(_count(queryset, subset, resolution))


def counts_placed(rows: Sequence[tuple[int, int, int]]) -> tuple[CellCounts, CellCounts]:
    """From (cell, count, count of a subset) rows, the cells with a count and those with a
    count of the subset, each ordered by its own count, the most first (ties by cell)."""
    cell = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    n = np.fromiter((r[1] for r in rows), dtype=np.int64, count=len(rows))
    m = np.fromiter((r[2] for r in rows), dtype=np.int64, count=len(rows))
    lat, lon = _centres(cell.tolist())
    placed = []
    for counts in (n, m):
        order = np.lexsort((cell, -counts))
        i = order[counts[order] > 0]
        placed.append(CellCounts(cell[i], lat[i], lon[i], counts[i]))
    return placed[0], placed[1]


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


# Cell centres never move: a worker keeps those it has placed (the occupied cells of a
# list of a million people are about 60,000, some 10 MB), and forgets them all past a
# bound.
_CENTRES: dict[int, tuple[float, float]] = {}
_CENTRES_KEPT = 500_000


def _centre(cell: int) -> tuple[float, float]:
    if len(_CENTRES) > _CENTRES_KEPT:
        _CENTRES.clear()
    # On the integer index: no round trip through strings.
    at = _CENTRES[cell] = h3_int.cell_to_latlng(cell)
    return at


def _centres(cells: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """The latitudes and longitudes of these cells' centres."""
    get = _CENTRES.get
    at = np.array([get(c) or _centre(c) for c in cells], dtype=np.float64).reshape(-1, 2)
    return at[:, 0], at[:, 1]


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
    cells: "Sequence[CellCount] | CellCounts",
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

    class LocalHeatLayer(_HeatLayer):
        default_js = [("leaflet-heat.js", assets.heat_js)]

    cells = CellCounts.of(cells)
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
    if len(cells):
        LocalHeatLayer(
            cells,
            options={
                "radius": 18,
                "blur": 14,
                "minOpacity": 0.35,
                "maxZoom": 12,
                # leaflet.heat sums overlapping points; `max` scales the ramp to the densest
                # cell.
                "max": int(cells.count.max()),
            },
        ).add_to(fmap)
        if len(cells) > 1:
            bounds = [
                [float(cells.lat.min()), float(cells.lon.min())],
                [float(cells.lat.max()), float(cells.lon.max())],
            ]
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


class _HeatLayer(JSCSSMixin):
    """leaflet.heat's layer with one weighted point per cell, written as one JSON array
    (folium's HeatMap checks every point in Python, which costs more than the whole map
    here)."""

    _template = Template(
        """{% macro script(this, kwargs) %}
        var {{ this.get_name() }} = L.heatLayer(
            {{ this.points }}, {{ this.options|tojson }}
        ).addTo({{ this._parent.get_name() }});
        {% endmacro %}"""
    )

    def __init__(self, cells: CellCounts, *, options: dict):
        super().__init__()
        self._name = "HeatMap"
        points = np.column_stack((cells.lat.round(4), cells.lon.round(4), cells.count))
        # Numbers only: safe to write into the script as they are.
        self.points = json.dumps([[lat, lon, int(n)] for lat, lon, n in points.tolist()])
        self.options = options


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
