"""geo/bands.py: distance bands between cell centres, counted and ordered by PostGIS."""

from collections import Counter

import h3
import pytest

from geo import hexgrid
from geo.bands import (
    Band,
    BandCounts,
    band_between,
    band_counts,
    band_for_metres,
    k_shown,
    nearest,
)
from supporters.models import Supporter

pytestmark = pytest.mark.django_db

MOSCOW = (37.62, 55.75)


def _cell_at(lon, lat):
    return hexgrid.cell_for_point(lon=lon, lat=lat)


def _ring_cell(origin: int, k: int) -> int:
    return h3.str_to_int(sorted(h3.grid_ring(h3.int_to_str(origin), k))[0])


def _at_cell(make_supporter, cell, **kw):
    lat, lon = h3.cell_to_latlng(h3.int_to_str(cell))
    return make_supporter(lon=lon, lat=lat, **kw)


@pytest.mark.parametrize(
    ("metres", "band"),
    [
        (0, Band.UNDER_1),
        (999.99, Band.UNDER_1),
        (1000, Band.FROM_1_TO_3),
        (2999.9, Band.FROM_1_TO_3),
        (3000, Band.FROM_3_TO_10),
        (10000, Band.FROM_10_TO_25),
        (25000, Band.FROM_10_TO_25),
        (25000.01, None),
    ],
)
def test_band_edges_are_half_open_and_25_km_is_the_last_inside(metres, band):
    assert band_for_metres(metres) == band


def test_shown_counts_say_nothing_below_k_and_round_the_rest():
    counts = BandCounts(
        counts={Band.UNDER_1: 0, Band.FROM_1_TO_3: 4, Band.FROM_3_TO_10: 7, Band.FROM_10_TO_25: 23}
    )
    # 0 and 4 read the same: nothing tells an empty band from one with k - 1 people.
    assert counts.shown(k=5) == [
        (Band.UNDER_1, None),
        (Band.FROM_1_TO_3, None),
        (Band.FROM_3_TO_10, 5),
        (Band.FROM_10_TO_25, 20),
    ]


@pytest.mark.parametrize(
    ("n", "k", "shown"),
    [
        (0, 5, None),
        (1, 5, None),
        (4, 5, None),
        (5, 5, 5),
        (9, 5, 5),
        (10, 5, 10),
        (11, 5, 10),
        (6, 7, None),
        (7, 7, 7),
        (9, 7, 7),
        (10, 7, 10),
        (2, 3, None),
        (3, 3, 3),
        (5, 3, 5),
    ],
)
def test_k_shown_is_none_below_k_and_never_below_k_above_it(n, k, shown):
    assert k_shown(n, k=k) == shown


def test_band_counts_count_rows_by_the_distance_between_cell_centres(make_supporter):
    origin = _cell_at(*MOSCOW)
    _at_cell(make_supporter, origin)  # same cell: 0 m
    _at_cell(make_supporter, _ring_cell(origin, 1))  # ~0.8 km
    _at_cell(make_supporter, _ring_cell(origin, 3))  # ~2.5 km
    make_supporter(lon=MOSCOW[0] + 0.1, lat=MOSCOW[1])  # ~6 km east
    make_supporter(lon=MOSCOW[0], lat=MOSCOW[1] + 0.15)  # ~17 km north
    make_supporter(lon=MOSCOW[0], lat=MOSCOW[1] + 0.5)  # ~55 km: beyond every band

    counts = band_counts(Supporter.objects.all(), cell=origin)
    assert counts.counts == {
        Band.UNDER_1: 2,
        Band.FROM_1_TO_3: 1,
        Band.FROM_3_TO_10: 1,
        Band.FROM_10_TO_25: 1,
    }
    for s in Supporter.objects.all():
        expected = band_between(cell_a=origin, cell_b=s.cell)
        assert expected is None or counts.counts[expected] >= 1


def test_any_point_of_a_cell_gets_the_same_counts(make_supporter):
    """The answer is a function of the cell: every point inside it gives the same one."""
    for dlon, dlat in [(0.013, 0.004), (-0.02, 0.011), (0.041, -0.027), (0.09, 0.05)]:
        make_supporter(lon=MOSCOW[0] + dlon, lat=MOSCOW[1] + dlat)
    origin = _cell_at(*MOSCOW)
    lat, lon = h3.cell_to_latlng(h3.int_to_str(origin))
    inside = [(lon + dx, lat + dy) for dx in (-0.002, 0, 0.002) for dy in (-0.001, 0, 0.001)]
    answers = {
        tuple(band_counts(Supporter.objects.all(), cell=_cell_at(x, y)).counts.items())
        for x, y in inside
        if _cell_at(x, y) == origin
    }
    assert len(answers) == 1


def test_nearest_takes_nearer_cells_first_and_shuffles_within_a_cell(make_supporter):
    origin = _cell_at(*MOSCOW)
    same = [_at_cell(make_supporter, origin).pk for _ in range(4)]
    ring1 = _at_cell(make_supporter, _ring_cell(origin, 1)).pk
    far = make_supporter(lon=MOSCOW[0] + 0.1, lat=MOSCOW[1]).pk
    queryset = Supporter.objects.all()

    firsts = Counter()
    for _ in range(40):
        found = nearest(queryset, cell=origin, limit=6)
        assert [n.pk for n in found[4:]] == [ring1, far]
        assert {n.pk for n in found[:4]} == set(same)
        assert [n.band for n in found] == [Band.UNDER_1] * 5 + [Band.FROM_3_TO_10]
        firsts[found[0].pk] += 1
    assert len(firsts) > 1  # random among equals, not a fixed order

    assert len(nearest(queryset, cell=origin, limit=2)) == 2
    under_1 = nearest(queryset, cell=origin, limit=10, farthest=Band.UNDER_1)
    assert {n.pk for n in under_1} == {*same, ring1}
