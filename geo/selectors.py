"""Reads of the public map's snapshot (never of the live supporters table)."""

from dataclasses import dataclass

from django.db import connections

from geo.geojson import feature_collection
from geo.models import Place
from geo.snapshot_models import (
    MAX_PUBLIC_RESOLUTION,
    MIN_PUBLIC_RESOLUTION,
    MapSnapshot,
    PublicArea,
)

MAX_ZOOM = 18
# A request may cover at most this many 256-pixel tiles across (a 4K screen is 15).
MAX_VIEW_TILES = 16


@dataclass(frozen=True)
class BBox:
    """WGS84 degrees, south <= north; a west east of east crosses the antimeridian (as in
    RFC 7946, section 5.2)."""

    west: float
    south: float
    east: float
    north: float

    @property
    def width(self) -> float:
        """Degrees of longitude from west eastwards to east."""
        return self.east - self.west if self.west <= self.east else 360 - self.west + self.east

    def envelopes(self) -> list[tuple[float, float, float, float]]:
        """The box as (W, S, E, N) boxes that do not cross the antimeridian."""
        if self.west <= self.east:
            return [(self.west, self.south, self.east, self.north)]
        return [(self.west, self.south, 180, self.north), (-180, self.south, self.east, self.north)]


@dataclass(frozen=True)
class CellsPage:
    geojson: bytes
    resolution: int
    cells: int
    truncated: bool


def max_span_degrees(zoom: int) -> float:
    """The widest bbox (in degrees of longitude or latitude) a map view at `zoom` needs."""
    return 360 * MAX_VIEW_TILES / 2**zoom


def zoom_for_bbox(*, bbox: BBox, zoom: int) -> int:
    """The zoom a bbox is drawn at: `zoom`, or the closest zoom out whose view spans it.

    A bbox wider than a view at `zoom` then costs what the same bbox costs at the zoom
    a map showing it would have, and gets no finer cells than that map would.
    """
    span = max(bbox.width, bbox.north - bbox.south)
    while zoom > 0 and span > max_span_degrees(zoom):
        zoom -= 1
    return zoom


# Hexagons some 20–45 px across at mid latitudes (sizes at 55°N: res 2 ≈ 360 km across,
# 3 ≈ 140, 4 ≈ 52, 5 ≈ 20, 6 ≈ 7.5, 7 ≈ 2.8), indexed by zoom; zoom 10 and closer: res 7.
_RESOLUTION_BY_ZOOM = (2, 2, 2, 2, 3, 4, 4, 5, 6, 6, 7)


def resolution_for_zoom(zoom: int) -> int:
    """The H3 resolution drawn at a Web Mercator zoom; never finer than 7 (about 5 km²)."""
    return min(MAX_PUBLIC_RESOLUTION, _RESOLUTION_BY_ZOOM[min(zoom, len(_RESOLUTION_BY_ZOOM) - 1)])


def snapshot_current() -> MapSnapshot | None:
    return MapSnapshot.objects.order_by("-version").first()


def area_totals(*, snapshot: MapSnapshot) -> dict:
    """The headline figures: world total, and countries, regions and towns by published
    count (each list largest first)."""
    areas = list(PublicArea.objects.filter(snapshot=snapshot))
    world = next((a.count for a in areas if a.level == PublicArea.Level.WORLD), None)
    return {
        "total": world,
        "countries": [a for a in areas if a.level == PublicArea.Level.COUNTRY],
        "regions": [a for a in areas if a.level == PublicArea.Level.REGION],
        "localities": [a for a in areas if a.level == PublicArea.Level.LOCALITY],
    }


@dataclass(frozen=True)
class TownRow:
    name: str
    count: int


@dataclass(frozen=True)
class RegionRow:
    """A region of the text alternative to the map, with its towns that reach k."""

    area: PublicArea
    towns: list[TownRow]


def area_table(*, totals: dict, language: str = "en") -> list[RegionRow]:
    """The map as a table: regions largest first, each with its towns largest first, a
    town named in `language` where the gazetteer has the name."""
    localities = totals.get("localities", [])
    places = Place.objects.in_bulk([t.place_id for t in localities if t.place_id])
    towns: dict[tuple[str, str], list[TownRow]] = {}
    for town in localities:
        place = places.get(town.place_id)
        name = place.display_name(language) if place else town.locality
        towns.setdefault((town.country_code, town.region), []).append(TownRow(name, town.count))
    return [
        RegionRow(area=region, towns=towns.get((region.country_code, region.region), []))
        for region in totals.get("regions", [])
    ]


def _in_bbox(bbox: BBox) -> tuple[str, list[float]]:
    """A condition on geo_publiccell.geom: it meets the bbox (the GiST index serves it)."""
    envelopes = bbox.envelopes()
    sql = " OR ".join(["geom && ST_MakeEnvelope(%s, %s, %s, %s, 4326)"] * len(envelopes))
    return f"({sql})", [v for envelope in envelopes for v in envelope]


def _cells_per_resolution(snapshot: MapSnapshot, bbox: BBox, finest: int) -> dict[int, int]:
    in_bbox, params = _in_bbox(bbox)
    # From the database the snapshot row came from (the replica in a may-lag view), so the
    # cells are that snapshot's.
    with connections[snapshot._state.db].cursor() as cursor:
        cursor.execute(
            "SELECT resolution, count(*) FROM geo_publiccell"
            f" WHERE snapshot_id = %s AND resolution <= %s AND {in_bbox}"
            " GROUP BY resolution",
            [snapshot.version, finest, *params],
        )
        return dict(cursor.fetchall())


def cells_for_bbox(*, snapshot: MapSnapshot, bbox: BBox, zoom: int, max_cells: int) -> CellsPage:
    """The published cells in a bbox as a GeoJSON FeatureCollection, built by PostGIS.

    The resolution is the zoom's (of the closest zoom out whose view spans the bbox, for a
    bbox wider than a view at `zoom`), or the finest coarser one with at most `max_cells`
    cells in the bbox; resolution 1 (842 cells on Earth) is the last resort, cut to the
    `max_cells` largest counts if even that is too many.
    """
    wanted = resolution_for_zoom(zoom_for_bbox(bbox=bbox, zoom=zoom))
    counts = _cells_per_resolution(snapshot, bbox, wanted)
    resolution = next(
        (r for r in range(wanted, MIN_PUBLIC_RESOLUTION - 1, -1) if counts.get(r, 0) <= max_cells),
        MIN_PUBLIC_RESOLUTION,
    )
    found = counts.get(resolution, 0)
    truncated = found > max_cells
    in_bbox, bbox_params = _in_bbox(bbox)
    body, _ = feature_collection(
        source=(
            "SELECT cell, count, geom FROM geo_publiccell"
            f" WHERE snapshot_id = %s AND resolution = %s AND {in_bbox}"
            " ORDER BY count DESC, cell LIMIT %s"
        ),
        params=[snapshot.version, resolution, *bbox_params, max_cells],
        members={"snapshot": snapshot.version, "resolution": resolution, "truncated": truncated},
        feature_id="to_hex(f.cell)",
        geometry="f.geom",
        precision=5,
        properties={"cell": "to_hex(f.cell)", "count": "f.count"},
        order_by="f.cell",
        using=snapshot._state.db,
    )
    return CellsPage(
        geojson=body.encode(),
        resolution=resolution,
        cells=min(found, max_cells),
        truncated=truncated,
    )
