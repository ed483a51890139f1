"""Reads of the public map's snapshot (never of the live supporters table)."""

from dataclasses import dataclass

from django.db import connection

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
    west: float
    south: float
    east: float
    north: float


@dataclass(frozen=True)
class CellsPage:
    geojson: bytes
    resolution: int
    cells: int
    truncated: bool


def max_span_degrees(zoom: int) -> float:
    """The widest bbox (in degrees of longitude or latitude) a map view at `zoom` needs."""
    return 360 * MAX_VIEW_TILES / 2**zoom


# Hexagons some 20–45 px across at mid latitudes (sizes at 55°N: res 2 ≈ 360 km across,
# 3 ≈ 140, 4 ≈ 52, 5 ≈ 20, 6 ≈ 7.5, 7 ≈ 2.8), indexed by zoom; zoom 10 and closer: res 7.
_RESOLUTION_BY_ZOOM = (2, 2, 2, 2, 3, 4, 4, 5, 6, 6, 7)


def resolution_for_zoom(zoom: int) -> int:
    """The H3 resolution drawn at a Web Mercator zoom; never finer than 7 (about 5 km²)."""
    return min(MAX_PUBLIC_RESOLUTION, _RESOLUTION_BY_ZOOM[min(zoom, len(_RESOLUTION_BY_ZOOM) - 1)])


def snapshot_current() -> MapSnapshot | None:
    return MapSnapshot.objects.order_by("-version").first()


def area_totals(*, snapshot: MapSnapshot) -> dict:
    """The headline figures: world total, and countries and regions by published count."""
    areas = list(PublicArea.objects.filter(snapshot=snapshot))
    world = next((a.count for a in areas if a.level == PublicArea.Level.WORLD), None)
    return {
        "total": world,
        "countries": [a for a in areas if a.level == PublicArea.Level.COUNTRY],
        "regions": [a for a in areas if a.level == PublicArea.Level.REGION],
    }


_ENVELOPE = "ST_MakeEnvelope(%s, %s, %s, %s, 4326)"


def _cells_per_resolution(snapshot: MapSnapshot, bbox: BBox, finest: int) -> dict[int, int]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT resolution, count(*) FROM geo_publiccell"
            f" WHERE snapshot_id = %s AND resolution <= %s AND geom && {_ENVELOPE}"
            " GROUP BY resolution",
            [snapshot.version, finest, bbox.west, bbox.south, bbox.east, bbox.north],
        )
        return dict(cursor.fetchall())


def cells_for_bbox(*, snapshot: MapSnapshot, bbox: BBox, zoom: int, max_cells: int) -> CellsPage:
    """The published cells in a bbox as a GeoJSON FeatureCollection, built by PostGIS.

    The resolution is the zoom's, or the finest coarser one with at most `max_cells` cells
    in the bbox; resolution 1 (842 cells on Earth) is the last resort, cut to the
    `max_cells` largest counts if even that is too many.
    """
    wanted = resolution_for_zoom(zoom)
    counts = _cells_per_resolution(snapshot, bbox, wanted)
    resolution = next(
        (r for r in range(wanted, MIN_PUBLIC_RESOLUTION - 1, -1) if counts.get(r, 0) <= max_cells),
        MIN_PUBLIC_RESOLUTION,
    )
    found = counts.get(resolution, 0)
    truncated = found > max_cells
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT json_build_object(
                'type', 'FeatureCollection',
                'snapshot', %s::bigint,
                'resolution', %s::int,
                'truncated', %s::boolean,
                'features', COALESCE(json_agg(json_build_object(
                    'type', 'Feature',
                    'id', to_hex(c.cell),
                    'geometry', ST_AsGeoJSON(c.geom, 5)::json,
                    'properties', json_build_object('cell', to_hex(c.cell), 'count', c.count)
                ) ORDER BY c.cell), '[]'::json)
            )::text
            FROM (
                SELECT cell, count, geom FROM geo_publiccell
                WHERE snapshot_id = %s AND resolution = %s AND geom && {_ENVELOPE}
                ORDER BY count DESC, cell
                LIMIT %s
            ) c
            """,
            [
                snapshot.version,
                resolution,
                truncated,
                snapshot.version,
                resolution,
                bbox.west,
                bbox.south,
                bbox.east,
                bbox.north,
                max_cells,
            ],
        )
        body = cursor.fetchone()[0]
    return CellsPage(
        geojson=body.encode(),
        resolution=resolution,
        cells=min(found, max_cells),
        truncated=truncated,
    )
