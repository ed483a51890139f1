"""Hotspots: where supporters concentrate, and where to meet them.

Clusters are found by PostGIS (ST_ClusterDBSCAN) over weighted cell centres; every
distance that is reported (counts within 1, 3 and 10 km, the meeting point) is measured
on the geography, i.e. on the spheroid.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from django.db import connection, transaction

from geo.heatmap import CellCount

RINGS_KM = (1, 3, 10)
MEETING_RADIUS_KM = 3


@dataclass(frozen=True)
class Hotspot:
    rank: int
    supporters: int
    cells: int
    meeting_cell: int
    meeting_lat: float
    meeting_lon: float
    within_1km: int
    within_3km: int
    within_10km: int


_CLUSTER_SQL = """
-- Pass 1, in Web Mercator, with eps stretched for the highest latitude present, so that
-- any two cells within eps_m of each other land in the same coarse group.
WITH merc AS (
    SELECT cell, n, geom, m FROM pg_temp.hot_cells
), coarse AS (
    SELECT cell, n, geom, m, ST_ClusterDBSCAN(
        m, eps := %(eps_m)s / cos(radians((SELECT max(abs(ST_Y(geom))) FROM merc))),
        minpoints := 1
    ) OVER () AS g FROM merc
), scaled AS (
    SELECT *, %(eps_m)s / cos(radians(avg(ST_Y(geom)) OVER (PARTITION BY g))) AS eps_g
    FROM coarse
)
-- Pass 2, inside each coarse group, with eps scaled for the group's own mean latitude
-- (Web Mercator stretches distances by 1/cos(latitude)).
SELECT cell, n, g, ST_ClusterDBSCAN(m, eps := eps_g, minpoints := 1)
    OVER (PARTITION BY g) AS c
FROM scaled
"""


@transaction.atomic
def hotspots_find(
    cells: Sequence[CellCount],
    *,
    eps_km: float = 1.0,
    min_supporters: int = 10,
    limit: int = 10,
) -> list[Hotspot]:
    """The `limit` largest clusters of cells with at least `min_supporters` in all.

    Two cells are neighbours when their centres are within `eps_km`; a cluster is a set of
    cells joined through neighbours (DBSCAN with minpoints 1), weighted by the supporters
    in its cells. The eps of each group is exact at the group's mean latitude and off by
    at most cos(φ)/cos(φ̄) - 1 elsewhere in it (under 1 % for a group 60 km tall at 56°N).
    The meeting point is the cluster's cell with the most supporters within 3 km (ties:
    the most within 1 km; this search measures in Web Mercator scaled at each cell's
    latitude, off by under 0.1 % over 3 km below 70°N), and the
    1/3/10 km counts are taken around it, over all cells, not only the cluster's.
    """
    if not cells:
        return []
    with connection.cursor() as cursor:
        # Called twice in one transaction (a test, a page), the previous tables still exist.
        cursor.execute("DROP TABLE IF EXISTS pg_temp.hot_cells, pg_temp.hot_clusters")
        # JIT compilation costs about a second per statement here and saves nothing on
        # tens of thousands of rows.
        cursor.execute("SET LOCAL work_mem = '64MB'; SET LOCAL jit = off")
        cursor.execute(
            "CREATE TEMP TABLE hot_cells ON COMMIT DROP AS"
            " SELECT t.cell, t.n, ST_SetSRID(ST_MakePoint(t.lon, t.lat), 4326) AS geom,"
            " ST_SetSRID(ST_MakePoint(t.lon, t.lat), 4326)::geography AS geog,"
            " ST_Transform(ST_SetSRID(ST_MakePoint(t.lon, t.lat), 4326), 3857) AS m,"
            " cos(radians(t.lat)) AS k"
            " FROM unnest(%s::bigint[], %s::float8[], %s::float8[], %s::int[])"
            " AS t(cell, lon, lat, n)",
            [
                [c.cell for c in cells],
                [c.lon for c in cells],
                [c.lat for c in cells],
                [c.count for c in cells],
            ],
        )
        cursor.execute("CREATE INDEX ON pg_temp.hot_cells USING gist (m)")
        cursor.execute("CREATE INDEX ON pg_temp.hot_cells (cell)")
        # Temp tables get no statistics from autovacuum; the joins below need some.
        cursor.execute("ANALYZE pg_temp.hot_cells (cell)")
        cursor.execute(
            f"""
            CREATE TEMP TABLE hot_clusters ON COMMIT DROP AS
            WITH clustered AS ({_CLUSTER_SQL}),
            sized AS (
                SELECT g, c, sum(n) AS supporters, count(*) AS cells,
                       row_number() OVER (ORDER BY sum(n) DESC, min(cell)) AS rank
                FROM clustered GROUP BY g, c HAVING sum(n) >= %(min)s
                ORDER BY rank LIMIT %(limit)s
            )
            SELECT s.rank, s.supporters, s.cells, k.cell
            FROM sized s JOIN clustered k ON k.g = s.g AND k.c = s.c
            """,
            {"eps_m": eps_km * 1000, "min": min_supporters, "limit": limit},
        )
        cursor.execute("ANALYZE pg_temp.hot_clusters")
        cursor.execute(
            """
            WITH around AS (
                -- For every cell of a hotspot: supporters within 3 and within 1 km of it,
                -- in Web Mercator with the radius scaled by 1/cos(latitude) at the cell.
                SELECT h.rank, h.cell, h.supporters, h.cells, s.near, s.near1
                FROM pg_temp.hot_clusters h
                JOIN pg_temp.hot_cells x ON x.cell = h.cell
                CROSS JOIN LATERAL (
                    SELECT sum(o.n) AS near,
                           sum(o.n) FILTER (WHERE ST_DWithin(o.m, x.m, %(r1)s / x.k)) AS near1
                    FROM pg_temp.hot_cells o WHERE ST_DWithin(o.m, x.m, %(r3)s / x.k)
                ) s
            ), best AS (
                SELECT DISTINCT ON (a.rank) a.rank, a.supporters, a.cells, a.cell, x.geog, x.m, x.k
                FROM around a JOIN pg_temp.hot_cells x ON x.cell = a.cell
                ORDER BY a.rank, a.near DESC, a.near1 DESC, a.cell
            )
            SELECT b.rank, b.supporters, b.cells, b.cell,
                   ST_Y(b.geog::geometry), ST_X(b.geog::geometry),
                   sum(o.n) FILTER (WHERE ST_DWithin(o.geog, b.geog, %(r1)s)),
                   sum(o.n) FILTER (WHERE ST_DWithin(o.geog, b.geog, %(r3)s)),
                   sum(o.n)
            -- The Mercator index finds candidates (with 2 %% to spare); the spheroid decides.
            FROM best b JOIN pg_temp.hot_cells o
              ON ST_DWithin(o.m, b.m, 1.02 * %(r10)s / b.k)
             AND ST_DWithin(o.geog, b.geog, %(r10)s)
            GROUP BY b.rank, b.supporters, b.cells, b.cell, b.geog
            ORDER BY b.rank
            """,
            {"r1": RINGS_KM[0] * 1000, "r3": RINGS_KM[1] * 1000, "r10": RINGS_KM[2] * 1000},
        )
        rows = cursor.fetchall()
    return [
        Hotspot(
            rank=int(rank),
            supporters=int(supporters),
            cells=int(ncells),
            meeting_cell=int(cell),
            meeting_lat=lat,
            meeting_lon=lon,
            within_1km=int(w1 or 0),
            within_3km=int(w3 or 0),
            within_10km=int(w10 or 0),
        )
        for rank, supporters, ncells, cell, lat, lon, w1, w3, w10 in rows
    ]
