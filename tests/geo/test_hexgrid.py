"""The H3 grid every location is snapped to."""

import h3
import pytest
from django.contrib.gis.geos import Point
from django.db import connection

from geo import hexgrid

RED_SQUARE = Point(37.6208, 55.7539, srid=4326)


def test_snap_returns_the_cell_containing_the_point_and_that_cells_centre():
    cell, centre = hexgrid.snap(RED_SQUARE)

    assert h3.int_to_str(cell) == h3.latlng_to_cell(RED_SQUARE.y, RED_SQUARE.x, 8)
    lat, lon = h3.cell_to_latlng(h3.int_to_str(cell))
    assert (centre.x, centre.y) == pytest.approx((lon, lat))
    assert centre.srid == 4326


def test_snap_moves_the_point_to_the_centre_and_is_stable():
    cell, centre = hexgrid.snap(RED_SQUARE)

    assert (centre.x, centre.y) != (RED_SQUARE.x, RED_SQUARE.y)
    assert hexgrid.cell_for_point(lon=centre.x, lat=centre.y) == cell
    assert hexgrid.snap(centre) == (cell, centre)


def test_points_in_one_cell_share_a_centre_and_points_in_another_do_not():
    cell, centre = hexgrid.snap(RED_SQUARE)
    nudged = Point(RED_SQUARE.x + 0.0002, RED_SQUARE.y, srid=4326)  # about 13 m east
    far = Point(RED_SQUARE.x + 0.05, RED_SQUARE.y, srid=4326)  # about 3 km east

    assert hexgrid.snap(nudged) == (cell, centre)
    assert hexgrid.snap(far)[0] != cell


def test_snap_uses_the_configured_resolution(settings):
    assert hexgrid.cell_resolution(hexgrid.snap(RED_SQUARE)[0]) == 8
    fine_cell = hexgrid.snap(RED_SQUARE)[0]

    settings.SOSEDI_H3_RESOLUTION = 6
    coarse_cell, coarse_centre = hexgrid.snap(RED_SQUARE)

    assert hexgrid.cell_resolution(coarse_cell) == 6
    assert h3.cell_to_parent(h3.int_to_str(fine_cell), 6) == h3.int_to_str(coarse_cell)
    assert hexgrid.cell_for_point(lon=coarse_centre.x, lat=coarse_centre.y) == coarse_cell


def test_an_explicit_resolution_overrides_the_setting(settings):
    settings.SOSEDI_H3_RESOLUTION = 9

    assert hexgrid.cell_resolution(hexgrid.snap(RED_SQUARE, resolution=5)[0]) == 5
    assert hexgrid.cell_resolution(hexgrid.cell_for_point(lon=0, lat=0, resolution=7)) == 7


def test_cell_boundary_is_a_closed_hexagon_around_the_centre_and_the_point():
    cell, centre = hexgrid.snap(RED_SQUARE)

    boundary = hexgrid.cell_boundary(cell)

    assert boundary.srid == 4326
    assert boundary.valid
    ring = boundary.exterior_ring.coords
    assert len(ring) == 7 and ring[0] == ring[-1]
    assert boundary.contains(centre)
    assert boundary.contains(RED_SQUARE)


@pytest.mark.django_db
def test_cell_boundary_encloses_the_area_h3_gives_for_the_cell():
    cell, _ = hexgrid.snap(RED_SQUARE)

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT ST_Area(ST_GeomFromEWKT(%s)::geography) / 1e6",
            [hexgrid.cell_boundary(cell).ewkt],
        )
        area_km2 = cursor.fetchone()[0]

    assert area_km2 == pytest.approx(h3.cell_area(h3.int_to_str(cell), "km^2"), rel=0.01)
    assert 0.3 < area_km2 < 1.2  # resolution 8: roughly 0.7 km²
