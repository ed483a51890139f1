"""Distance bands between H3 cell centres: the only distances Sosedi ever shows.

Every function here takes a cell (never a point someone typed) and rows whose location is
the centre of their own cell, so an answer depends on nothing finer than two cells.
PostGIS does the maths on the geography type (geodesic distance on the WGS84 spheroid).
"""

from dataclasses import dataclass

from django.contrib.gis.db.models.functions import Distance
from django.contrib.gis.measure import D
from django.db import connection, models
from django.db.models import Count, Q, QuerySet
from django.db.models.functions import Random
from django.utils.translation import gettext_lazy as _

from geo import hexgrid


class Band(models.TextChoices):
    UNDER_1 = "under_1", _("under 1 km")
    FROM_1_TO_3 = "1_3", _("1–3 km")
    FROM_3_TO_10 = "3_10", _("3–10 km")
    FROM_10_TO_25 = "10_25", _("10–25 km")


# [low, high) in metres; the last band is closed, so MAX_KM itself is inside it.
BAND_EDGES_M: dict[Band, tuple[float, float]] = {
    Band.UNDER_1: (0, 1_000),
    Band.FROM_1_TO_3: (1_000, 3_000),
    Band.FROM_3_TO_10: (3_000, 10_000),
    Band.FROM_10_TO_25: (10_000, 25_000),
}
MAX_KM = 25


def band_for_metres(metres: float) -> Band | None:
    """The band a distance falls in, or None beyond MAX_KM."""
    for band, (low, high) in BAND_EDGES_M.items():
        if low <= metres < high:
            return band
    return Band.FROM_10_TO_25 if metres == BAND_EDGES_M[Band.FROM_10_TO_25][1] else None


@dataclass(frozen=True)
class BandCounts:
    """How many rows lie in each band around one cell (exact: callers decide what to show)."""

    counts: dict[Band, int]

    def shown(self, *, k: int) -> list[tuple[Band, int | None]]:
        """(band, what to show) per band: None ("fewer than k") for every count below k,
        0 included, so that an empty band and a lone person read the same; from k on,
        the count rounded down to a multiple of 5 (never below k), so that one more person
        rarely changes it."""
        return [(band, k_shown(self.counts.get(band, 0), k=k)) for band in Band]


def k_shown(n: int, *, k: int) -> int | None:
    """A count of people as anyone outside the organizers may see it: None below `k`
    (nothing tells 0 from k - 1), else rounded down to a multiple of 5, never below k."""
    if n < k:
        return None
    return max(k, n - n % 5)


def _in_band(band: Band, annotation: str) -> Q:
    low, high = BAND_EDGES_M[band]
    upper = "lte" if band == Band.FROM_10_TO_25 else "lt"
    return Q(**{f"{annotation}__gte": low, f"{annotation}__{upper}": high})


def band_counts(queryset: QuerySet, *, cell: int, field: str = "location") -> BandCounts:
    """Count the rows of `queryset` in each band around `cell` (one SQL aggregate).

    `field` must hold the centre of each row's own cell, so the answer is a function of
    `cell` and the rows' cells only.
    """
    centre = hexgrid.cell_centre(cell)
    result = (
        queryset.filter(**{f"{field}__dwithin": (centre, D(km=MAX_KM))})
        .annotate(_band_m=Distance(field, centre))
        .aggregate(**{band.value: Count("pk", filter=_in_band(band, "_band_m")) for band in Band})
    )
    return BandCounts(counts={band: result[band.value] for band in Band})


@dataclass(frozen=True)
class Nearby:
    pk: object
    band: Band


# How far `nearest` looks, step by step (the band edges): a dense city finds its few
# nearest rows within the first step and never computes distances for the tens of
# thousands of rows further out; a village reaches the last step with a handful of rows.
_NEAREST_STEPS_M = (1_000, 3_000, 10_000, 25_000)


def nearest(
    queryset: QuerySet,
    *,
    cell: int,
    limit: int,
    farthest: Band = Band.FROM_10_TO_25,
    field: str = "location",
) -> list[Nearby]:
    """Up to `limit` rows nearest to `cell` by cell centre, each with its band.

    Rows at the same distance come in random order (rows of one cell are always equals).
    Only rows within the `farthest` band are considered. The search widens step by step
    (ST_DWithin, answered by the GiST index on `field`) until `limit` rows are found: the
    rows within a step are all nearer than any row beyond it, so the result is exactly
    the nearest `limit`, however many steps it took.
    """
    if limit <= 0:
        return []
    centre = hexgrid.cell_centre(cell)
    reach_m = BAND_EDGES_M[farthest][1]
    steps = [m for m in _NEAREST_STEPS_M if m < reach_m] + [reach_m]
    for step_m in steps:
        rows = list(
            queryset.filter(**{f"{field}__dwithin": (centre, D(m=step_m))})
            .annotate(_band_m=Distance(field, centre))
            .order_by("_band_m", Random())
            .values_list("pk", "_band_m")[:limit]
        )
        if len(rows) == limit:
            break
    return [Nearby(pk=pk, band=band_for_metres(metres.m)) for pk, metres in rows]


def band_between(*, cell_a: int, cell_b: int) -> Band | None:
    """The band between two cells' centres (PostGIS geodesic distance), None beyond MAX_KM."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT ST_Distance(ST_GeogFromText(%s), ST_GeogFromText(%s))",
            [hexgrid.cell_centre(cell_a).ewkt, hexgrid.cell_centre(cell_b).ewkt],
        )
        (metres,) = cursor.fetchone()
    return band_for_metres(metres)
