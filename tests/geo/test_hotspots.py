"""Hotspots on a seeded layout whose clusters are known in advance."""

import h3
import pytest
from django.contrib.gis.geos import Point
from geopy.distance import geodesic

from geo.heatmap import CellCount
from geo.hotspots import hotspots_find

pytestmark = pytest.mark.django_db


def cell_at(lat: float, lon: float, count: int) -> CellCount:
    cell = h3.latlng_to_cell(lat, lon, 8)
    clat, clon = h3.cell_to_latlng(cell)
    return CellCount(cell=h3.str_to_int(cell), lat=clat, lon=clon, count=count)


def ring(lat: float, lon: float, k: int, count: int, *, step: int = 0) -> list[CellCount]:
    """The cells within k steps of the cell at (lat, lon): `count` supporters in the
    middle, `step` fewer per step away from it."""
    centre = h3.latlng_to_cell(lat, lon, 8)
    return [
        CellCount(
            cell=h3.str_to_int(c),
            lat=h3.cell_to_latlng(c)[0],
            lon=h3.cell_to_latlng(c)[1],
            count=count - step * h3.grid_distance(centre, c),
        )
        for c in h3.grid_disk(centre, k)
    ]


def test_three_separated_groups_become_three_hotspots_ranked_by_supporters():
    kazan = ring(55.79, 49.12, 2, 9, step=3)  # 9 + 6 x 6 + 12 x 3 in 19 cells
    tver = ring(56.86, 35.90, 1, 4)  # 7 cells x 4
    perm = ring(58.01, 56.25, 1, 10)  # 7 cells x 10
    lonely = [cell_at(60.0, 30.0, 3)]  # below min_supporters
    found = hotspots_find(kazan + tver + perm + lonely, eps_km=1.0, min_supporters=10)

    assert [(h.supporters, h.cells) for h in found] == [(81, 19), (70, 7), (28, 7)]
    assert [h.rank for h in found] == [1, 2, 3]
    kazan_spot = found[0]
    # The meeting point is the middle cell: the whole disk is within 3 km of several
    # cells, and the middle has the most within 1 km (itself and its 6 neighbours).
    assert kazan_spot.meeting_cell == h3.str_to_int(h3.latlng_to_cell(55.79, 49.12, 8))
    assert kazan_spot.within_3km == 81
    assert kazan_spot.within_10km == 81
    assert kazan_spot.within_1km == 9 + 6 * 6


def test_a_cluster_is_joined_through_neighbours_but_not_across_a_gap():
    # Two blobs 4 km apart: separate at eps 1 km, one cluster at eps 5 km.
    west = ring(55.75, 37.50, 1, 6)
    east_lon = geodesic(kilometers=4).destination((55.75, 37.50), 90).longitude
    east = ring(55.75, east_lon, 1, 6)
    assert len(hotspots_find(west + east, eps_km=1.0, min_supporters=10)) == 2
    merged = hotspots_find(west + east, eps_km=5.0, min_supporters=10)
    assert len(merged) == 1 and merged[0].supporters == 84


def test_the_meeting_point_is_where_most_supporters_live_within_3km_not_the_biggest_cell():
    # A dense neighbourhood of small cells beats one big cell 2.5 km away from it.
    dense = ring(55.0, 37.0, 1, 8)  # 56 within ~1 km
    big_lon = geodesic(kilometers=6).destination((55.0, 37.0), 90).longitude
    big = [cell_at(55.0, big_lon, 40)]
    bridge_lon = geodesic(kilometers=3).destination((55.0, 37.0), 90).longitude
    bridge = [cell_at(55.0, bridge_lon, 1)]
    (spot,) = hotspots_find(dense + big + bridge, eps_km=3.5, min_supporters=10)
    assert spot.supporters == 97
    meeting = Point(spot.meeting_lon, spot.meeting_lat)
    assert geodesic((meeting.y, meeting.x), (55.0, 37.0)).km < 1.0
    assert spot.within_3km == 57  # the dense ring and the bridge, not the big cell


def test_latitude_does_not_change_what_counts_as_a_neighbour():
    # 1.6 km apart (two cell steps) joins at eps 2 km in the south and in the far north.
    for lat in (43.0, 69.0):
        a = cell_at(lat, 40.0, 6)
        far = geodesic(kilometers=1.6).destination((lat, 40.0), 90)
        b = cell_at(far.latitude, far.longitude, 6)
        assert len(hotspots_find([a, b], eps_km=2.0, min_supporters=10)) == 1, lat
        assert hotspots_find([a, b], eps_km=0.5, min_supporters=10) == [], lat


def test_no_cells_no_hotspots():
    assert hotspots_find([], eps_km=1.0) == []
