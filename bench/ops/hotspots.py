"""Hotspots from cell counts, against DBSCAN over every raw point.

Ours is what the dashboard does without filters: the counts per cell from the tally
(supporters/organize/tally.py), then the clustering (geo/hotspots.py). The same
clustering after counting the supporters' rows themselves (any other filter) is timed too.
"""

import math
import time

from bench.ops.common import Ctx, row


def run(ctx: Ctx) -> list[dict]:
    from django.db import connection, transaction
    from django.db.models import Q
    from django.db.utils import OperationalError

    from bench.measure import Timing, repeat
    from geo.heatmap import HEATMAP_RESOLUTION, cell_counts_and_subset, counts_placed
    from geo.hotspots import hotspots_find
    from supporters.models import Supporter
    from supporters.organize.tally import tally_counts

    found = {}

    def ours_call():
        _, active = counts_placed(tally_counts(status="", resolution=HEATMAP_RESOLUTION))
        spots = hotspots_find(active, eps_km=1.0, min_supporters=10)
        found.update(cells=len(active), spots=len(spots), top=spots[0].supporters if spots else 0)

    def rows_call():
        _, active = cell_counts_and_subset(Supporter.objects.all(), Q(status="active"))
        hotspots_find(active, eps_km=1.0, min_supporters=10)

    ours = repeat(ours_call, repeats=7, warmup=1, budget_s=60, min_repeats=3)
    from_rows = repeat(rows_call, repeats=3, warmup=0, budget_s=60, min_repeats=1)

    # Baseline: DBSCAN over every raw point (PostGIS), on growing random samples until one
    # is slow; beyond that the time is extrapolated with the measured growth exponent.
    def dbscan(n: int, timeout_s: int) -> float:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"SET LOCAL statement_timeout = '{timeout_s}s'")
            cursor.execute("SET LOCAL work_mem = '256MB'")
            started = time.perf_counter()
            cursor.execute(
                """
                WITH pts AS (
                    SELECT ST_Transform(location::geometry, 3857) AS m
                    FROM supporters_supporter ORDER BY id LIMIT %s
                ), clustered AS (
                    SELECT ST_ClusterDBSCAN(m, eps := 1000 / cos(radians(55.75)),
                                            minpoints := 1) OVER () AS c FROM pts
                )
                SELECT c, count(*) FROM clustered GROUP BY c HAVING count(*) >= 10
                ORDER BY 2 DESC LIMIT 10
                """,
                [n],
            )
            cursor.fetchall()
            return time.perf_counter() - started

    sizes, times, timed_out = [], [], None
    size = min(10_000, ctx.n)
    limit_s = ctx.scaled(20, 60)
    while True:
        try:
            elapsed = dbscan(size, timeout_s=limit_s * 3)
        except OperationalError:
            timed_out = size
            break
        sizes.append(size)
        times.append(elapsed)
        if size >= ctx.n or elapsed > limit_s:
            break
        size = min(ctx.n, size * 2)
    if sizes and sizes[-1] >= ctx.n:
        naive = Timing([times[-1]])
        how = f"every one of the {ctx.n:,} points"
    elif len(sizes) >= 2:
        exponent = max(1.0, math.log(times[-1] / times[-2]) / math.log(sizes[-1] / sizes[-2]))
        naive = Timing([times[-1] * (ctx.n / sizes[-1]) ** exponent], extrapolated=True)
        how = (
            f"measured on {', '.join(f'{s:,}' for s in sizes)} points "
            f"({', '.join(f'{t:.1f}' for t in times)} s), extrapolated to N as n^{exponent:.2f}"
            + (f"; {timed_out:,} points timed out after {limit_s * 3} s" if timed_out else "")
        )
    else:
        naive = None
        how = f"could not finish on {timed_out:,} points within {limit_s * 3} s"
    return [
        row(
            "hotspots",
            "hotspots (cell counts + clustering)",
            ours=ours,
            baselines=[("ST_ClusterDBSCAN over every raw point", naive)],
            target="≤ 2 s; ≥ 3× the baseline",
            met=ours.median <= 2 and naive is not None and naive.median >= 3 * ours.median,
            notes=[
                f"{found['cells']:,} cells with active supporters, {found['spots']} hotspots "
                f"(largest {found['top']:,} supporters), eps 1 km; counts from the cell tally",
                f"counting the supporters' rows instead (a filtered dashboard): median "
                f"{from_rows.median * 1000:,.0f} ms",
                f"baseline: {how}",
            ],
        )
    ]
