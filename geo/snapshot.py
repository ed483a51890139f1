"""Building the public map's snapshot: k-anonymous, perturbed counts per H3 cell and area.

The caller (which knows who may appear on the map) passes a queryset of people; geo only
sees their cells and localities. Counting happens in PostgreSQL: H3 parents are computed
with bit operations on the 64-bit index, so no Python loop ever runs over people. Python
then touches each published cell once, to draw its noise and its hexagon.
"""

import hashlib
import hmac
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import h3
from django.conf import settings
from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.crypto import salted_hmac

from geo.localities import LocalityText, places_for_localities
from geo.snapshot_models import (
    MAX_PUBLIC_RESOLUTION,
    MIN_PUBLIC_RESOLUTION,
    MIN_PUBLISHED_COUNT,
    MapSnapshot,
    PublicArea,
    PublicCell,
)

# Any constant works: it serialises concurrent rebuilds (the hourly job and a manual run).
_BUILD_LOCK = 0x50D1_3A95

# The parent of an H3 cell at resolution r: write r into bits 52–55 and set every digit
# finer than r (3 bits each, digit 15 in bits 0–2) to 7, which is how H3 marks unused digits.
_PARENT_SQL = (
    "((p.cell & ~(15::bigint << 52)) | (r.res::bigint << 52)"
    " | ((1::bigint << (3 * (15 - r.res))) - 1))"
)
_RESOLUTION_SQL = "((p.cell >> 52) & 15)"


def h3_parent_sql(cell_column: str, resolution_column: str) -> str:
    """SQL for the parent of `cell_column` at `resolution_column` (exposed for tests)."""
    return _PARENT_SQL.replace("p.cell", cell_column).replace("r.res", resolution_column)


@dataclass(frozen=True)
class NoiseParams:
    """Two-sided geometric noise, P(x) = (1-α)/(1+α)·α^|x| with α = exp(-ε), keyed by `key`."""

    epsilon: float
    key: bytes
    k: int

    @classmethod
    def from_settings(cls) -> "NoiseParams":
        key = (
            settings.SOSEDI_MAP_NOISE_KEY.encode()
            or salted_hmac("sosedi.public-map-noise", "v1").digest()
        )
        return cls(epsilon=settings.SOSEDI_MAP_NOISE_EPSILON, key=key, k=settings.SOSEDI_MAP_K)


def _geometric(u: float, alpha: float) -> int:
    """A draw from Geometric on {0, 1, …} with P(G ≥ g) = α^g, from a uniform u in (0, 1)."""
    return math.floor(math.log(u) / math.log(alpha))


def published_count(true_count: int, *, label: str, noise: NoiseParams) -> int:
    """What the public sees for a group of `true_count` ≥ k people: noisy, a multiple of 5.

    The draw is a keyed hash of (label, true count): the same cell with the same count gets
    the same noise in every snapshot, so averaging snapshots over time does not recover the
    count; any change of the count redraws it. The result is never below k rounded up to 5.
    """
    digest = hmac.new(noise.key, f"{label}:{true_count}".encode(), hashlib.sha256).digest()
    u1 = (int.from_bytes(digest[0:8], "big") + 0.5) / 2**64
    u2 = (int.from_bytes(digest[8:16], "big") + 0.5) / 2**64
    alpha = math.exp(-noise.epsilon)
    noisy = true_count + _geometric(u1, alpha) - _geometric(u2, alpha)
    rounded = 5 * math.floor(noisy / 5 + 0.5)
    floor = max(MIN_PUBLISHED_COUNT, 5 * math.ceil(noise.k / 5))
    return max(rounded, floor)


def cell_polygon_ewkt(cell: int) -> str:
    """The hexagon of an H3 cell as EWKT, unwrapped across the antimeridian (lon may pass 180)."""
    ring = [(lon, lat) for lat, lon in h3.cell_to_boundary(h3.int_to_str(cell))]
    if max(lon for lon, _ in ring) - min(lon for lon, _ in ring) > 180:
        ring = [(lon + 360 if lon < 0 else lon, lat) for lon, lat in ring]
    ring.append(ring[0])
    coords = ", ".join(f"{lon:.7f} {lat:.7f}" for lon, lat in ring)
    return f"SRID=4326;POLYGON(({coords}))"


@dataclass(frozen=True)
class SnapshotReport:
    snapshot: MapSnapshot
    people: int
    cells_by_resolution: dict[int, int]
    areas: int
    total: int | None


def _people_sql(people: QuerySet) -> tuple[str, tuple]:
    rows = people.order_by().values_list("cell", "country_code", "region", "city")
    sql, params = rows.query.sql_with_params()
    return sql, tuple(params)


def _published_resolutions() -> list[int]:
    # Parents can only be taken at or above the resolution people are stored at.
    finest = min(MAX_PUBLIC_RESOLUTION, settings.SOSEDI_H3_RESOLUTION)
    return list(range(MIN_PUBLIC_RESOLUTION, finest + 1))


def _cell_counts(people_sql: str, params: tuple, *, k: int) -> list[tuple[int, int, int]]:
    """(resolution, parent cell, distinct people) for every parent with at least k people."""
    resolutions = _published_resolutions()
    sql = f"""
        WITH people(cell, country_code, region, locality) AS ({people_sql}),
             r(res) AS (SELECT unnest(%s::int[]))
        SELECT r.res, {_PARENT_SQL} AS parent, count(*) AS n
        FROM people p JOIN r ON {_RESOLUTION_SQL} >= r.res
        GROUP BY r.res, parent
        HAVING count(*) >= %s
        ORDER BY r.res, parent
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, (*params, resolutions, k))
        return cursor.fetchall()


AreaCount = tuple[str, str, str, str, int | None, int]
"""level, country code, region, town, the town's gazetteer place (geonameid), people"""


def _area_counts(people_sql: str, params: tuple, *, k: int) -> list[AreaCount]:
    """Per world, country and region with at least k people, and per town (below)."""
    sql = f"""
        WITH people(cell, country_code, region, locality) AS ({people_sql})
        SELECT CASE WHEN GROUPING(country_code) = 1 THEN 'world'
                    WHEN GROUPING(region) = 1 THEN 'country' ELSE 'region' END,
               COALESCE(country_code, ''), COALESCE(region, ''), count(*)
        FROM people
        GROUP BY GROUPING SETS ((), (country_code), (country_code, region))
        HAVING count(*) >= %s
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, (*params, k))
        rows = cursor.fetchall()
    # People with no known country or region count in the totals above them only.
    areas = [
        (level, cc, region, "", None, n)
        for level, cc, region, n in rows
        if level == "world" or (cc and (level == "country" or region))
    ]
    return areas + _town_counts(people_sql, params, k=k)


def _town_counts(people_sql: str, params: tuple, *, k: int) -> list[AreaCount]:
    """Per town with at least k people, a town's spellings ('Москва', 'Moscow') counted as
    one through the gazetteer (geo/localities.py); a text no place matches stays itself."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""WITH people(cell, country_code, region, locality) AS ({people_sql})
                SELECT country_code, region, locality, min(cell), count(*) FROM people
                WHERE country_code <> '' AND region <> '' AND locality <> ''
                GROUP BY country_code, region, locality""",
            params,
        )
        groups = cursor.fetchall()
    texts = []
    for cc, region, city, cell, _n in groups:
        lat, lon = h3.cell_to_latlng(h3.int_to_str(cell))  # near enough to tell towns apart
        texts.append(LocalityText(country_code=cc, region=region, city=city, lat=lat, lon=lon))
    places = places_for_localities(texts)
    towns: dict[tuple, list] = {}
    for (cc, region, city, _cell, n), text in zip(groups, texts, strict=True):
        place = places.get(text)
        key = ("place", place.geonameid) if place else ("text", cc, region, city)
        town = towns.setdefault(key, [n, cc, region, place.name if place else city, place, 0])
        if n > town[0]:  # the region and name of the town's largest spelling
            town[:3] = [n, cc, region]
        town[5] += n
    return [
        ("locality", cc, region, name, place.geonameid if place else None, total)
        for _largest, cc, region, name, place, total in towns.values()
        if total >= k
    ]


def _area_label(level: str, country_code: str, region: str, locality: str) -> str:
    """The noise's label: a town's adds its name, so the others' noise stays as it was."""
    label = f"{level}:{country_code}:{region}"
    return f"{label}:{locality}" if level == "locality" else label


def _count_people(people_sql: str, params: tuple) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM ({people_sql}) people", params)
        return cursor.fetchone()[0]


@transaction.atomic
def snapshot_refresh(
    *,
    people: QuerySet,
    noise: NoiseParams | None = None,
    progress: Callable[[str], None] | None = None,
) -> SnapshotReport:
    """Build a new public snapshot from `people` and make it current, atomically.

    `people` has one row per distinct person who may appear on the public map, with
    `cell` (H3 index), `country_code`, `region` and `city` (their town) fields. The new
    snapshot becomes visible when this transaction commits; the previous one is kept for
    requests that read its version a moment before, older ones are deleted.
    """
    say = progress or (lambda message: None)
    noise = noise or NoiseParams.from_settings()
    started = time.monotonic()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_BUILD_LOCK])
    people_sql, params = _people_sql(people)

    say("counting people per cell in the database")
    people_count = _count_people(people_sql, params)
    cells = _cell_counts(people_sql, params, k=noise.k)
    areas = _area_counts(people_sql, params, k=noise.k)

    snapshot = MapSnapshot.objects.create(created_at=timezone.now(), k=noise.k)
    say(f"drawing {len(cells)} hexagons with their noisy counts")
    by_resolution: dict[int, int] = {}
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(
            "COPY geo_publiccell (snapshot_id, resolution, cell, count, geom) FROM STDIN"
        ) as copy,
    ):
        for resolution, cell, n in cells:
            count = published_count(n, label=f"cell:{cell}", noise=noise)
            copy.write_row((snapshot.version, resolution, cell, count, cell_polygon_ewkt(cell)))
            by_resolution[resolution] = by_resolution.get(resolution, 0) + 1
    PublicArea.objects.bulk_create(
        PublicArea(
            snapshot=snapshot,
            level=level,
            country_code=country_code,
            region=region,
            locality=locality,
            place_id=place,
            count=published_count(
                n, label=_area_label(level, country_code, region, locality), noise=noise
            ),
        )
        for level, country_code, region, locality, place, n in areas
    )
    snapshot.cells = len(cells)
    snapshot.build_seconds = round(time.monotonic() - started, 3)
    snapshot.save(update_fields=["cells", "build_seconds"])

    stale = MapSnapshot.objects.filter(version__lt=snapshot.version).order_by("-version")[1:]
    stale_versions = list(stale.values_list("version", flat=True))
    if stale_versions:
        PublicCell.objects.filter(snapshot__in=stale_versions).delete()
        PublicArea.objects.filter(snapshot__in=stale_versions).delete()
        MapSnapshot.objects.filter(version__in=stale_versions).delete()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE geo_publiccell")
    total = next((a.count for a in snapshot.areas.all() if a.level == PublicArea.Level.WORLD), None)
    say(f"snapshot {snapshot.version} is current")
    return SnapshotReport(
        snapshot=snapshot,
        people=people_count,
        cells_by_resolution=by_resolution,
        areas=len(areas),
        total=total,
    )
