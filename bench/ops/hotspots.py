"""Hotspots from cell counts, against DBSCAN over every raw point."""

import math
import time

from bench.ops.common import Ctx, row


def run(ctx: Ctx) -> list[dict]:
    from django.db import connection, transaction
    from django.db.utils import OperationalError

    from bench.measure import Timing, repeat
    from geo.heatmap import cell_counts
    from geo.hotspots import hotspots_find
    from supporters.models import Supporter

    found = {}

    def ours_call():
        cells = cell_counts(Supporter.objects.all())
        spots = hotspots_find(cells, eps_km=1.0, min_supporters=10)
        found.update(cells=len(cells), spots=len(spots), top=spots[0].supporters if spots else 0)

    ours = repeat(ours_call, repeats=5, warmup=1, budget_s=90, min_repeats=3)

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
            target="≤ 5 s",
            met=ours.median <= 5,
            notes=[
                f"{found['cells']:,} occupied cells, {found['spots']} hotspots (largest "
                f"{found['top']:,} supporters), eps 1 km",
                f"baseline: {how}",
            ],
        )
    ]
