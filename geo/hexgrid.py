"""The hierarchical hex grid (H3) that every location in Sosedi is snapped to."""

import h3
from django.conf import settings
from django.contrib.gis.geos import Point, Polygon


def default_resolution() -> int:
    return settings.SOSEDI_H3_RESOLUTION


def cell_for_point(*, lon: float, lat: float, resolution: int | None = None) -> int:
    """The H3 cell (as a 64-bit integer) containing a WGS84 point."""
    res = default_resolution() if resolution is None else resolution
    return h3.str_to_int(h3.latlng_to_cell(lat, lon, res))


def cell_centre(cell: int) -> Point:
    lat, lon = h3.cell_to_latlng(h3.int_to_str(cell))
    return Point(lon, lat, srid=4326)


def cell_boundary(cell: int) -> Polygon:
    ring = [(lon, lat) for lat, lon in h3.cell_to_boundary(h3.int_to_str(cell))]
    ring.append(ring[0])
    return Polygon(ring, srid=4326)


def cell_parent(cell: int, resolution: int) -> int:
    """The cell at `resolution` that contains `cell` (the cell itself if it is as coarse)."""
    if cell_resolution(cell) <= resolution:
        return cell
    return h3.str_to_int(h3.cell_to_parent(h3.int_to_str(cell), resolution))


def cell_resolution(cell: int) -> int:
    return h3.get_resolution(h3.int_to_str(cell))


def snap(point: Point, *, resolution: int | None = None) -> tuple[int, Point]:
    """The cell containing `point` and the cell's centre, which is what gets stored."""
    cell = cell_for_point(lon=point.x, lat=point.y, resolution=resolution)
    return cell, cell_centre(cell)


def cell_area_label(resolution: int | None = None) -> str:
    """The average area of a cell in km², rounded for people to read (e.g. '0.7')."""
    res = default_resolution() if resolution is None else resolution
    area = h3.average_hexagon_area(res, unit="km^2")
    return f"{area:.2g}" if area < 10 else f"{area:.0f}"
