"""Time candidate selection on a seeded database: `python -m supporters.nearby.bench`.

Run it against a database seeded with `seed_demo --supporters 1000000`, e.g.
    DATABASE_URL=postgis://sosedi@127.0.0.1:54329/sosedi_bench \\
        .venv/bin/python -m supporters.nearby.bench --samples 300
Requesters are drawn at random (fixed seed) from the activists open to introductions, so
dense city centres and small towns are timed in proportion to where activists live. Each
sample is one call of selectors.introduction_candidates (the query an introduction
request runs, every exclusion included), inside a transaction that is rolled back.
"""

import argparse
import os
import random
import statistics
import time


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mapsite.settings")
    import django

    django.setup()
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    from supporters.nearby import selectors

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=300)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--explain", action="store_true", help="print one query plan")
    parser.add_argument(
        "--server-time",
        action="store_true",
        help="also time each call's queries inside PostgreSQL (EXPLAIN ANALYZE: planning "
        "plus execution), which a loaded client machine does not inflate",
    )
    args = parser.parse_args()

    activists = selectors.activists_open_to_introductions()
    total = activists.count()
    pks = list(activists.order_by("pk").values_list("pk", flat=True))
    rng = random.Random(args.seed)
    sample = [pks[rng.randrange(len(pks))] for _ in range(args.samples)]
    requesters = activists.model.objects.in_bulk(sample)

    # Warm-up, as a running server would be: the index pages cached.
    for pk in sample[:20]:
        selectors.introduction_candidates(requester=requesters[pk], limit=5)

    timings, sql_timings, server_timings, steps, found = [], [], [], [], []
    for pk in sample:
        with transaction.atomic(), CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            chosen = selectors.introduction_candidates(requester=requesters[pk], limit=5)
            timings.append((time.perf_counter() - started) * 1000)
            sql_timings.append(sum(float(q["time"]) for q in queries.captured_queries) * 1000)
            steps.append(len(queries.captured_queries))
            found.append(len(chosen))
            if args.server_time:
                server_timings.append(_server_ms(connection, queries.captured_queries))
            transaction.set_rollback(True)

    if args.explain:
        with CaptureQueriesContext(connection) as queries:
            selectors.introduction_candidates(requester=requesters[sample[0]], limit=5)
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + queries.captured_queries[-1]["sql"])
            print("\n".join(row[0] for row in cursor.fetchall()))

    def median_p95(values: list[float]) -> str:
        ordered = sorted(values)
        p95 = ordered[round(0.95 * (len(ordered) - 1))]
        median = statistics.median(ordered)
        return f"median {median:.1f} ms, p95 {p95:.1f} ms, max {ordered[-1]:.1f} ms"

    print(f"supporters: {activists.model.objects.count():,}; open to introductions: {total:,}")
    print(f"candidate selection, {len(timings)} requesters at random, 5 candidates each:")
    print(f"  selector call (ORM + SQL): {median_p95(timings)}")
    print(f"  SQL only (round trips):    {median_p95(sql_timings)}")
    if server_timings:
        print(f"  inside PostgreSQL:         {median_p95(server_timings)}")
    print(
        f"  queries per call: median {statistics.median(steps):.0f}, max {max(steps)}; "
        f"candidates found: median {statistics.median(found):.0f}, min {min(found)}"
    )


def _server_ms(connection, captured) -> float:
    """Planning plus execution time PostgreSQL reports for the captured queries."""
    total = 0.0
    with connection.cursor() as cursor:
        for query in captured:
            cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + query["sql"])
            (plan,) = cursor.fetchone()
            total += plan[0]["Planning Time"] + plan[0]["Execution Time"]
    return total


if __name__ == "__main__":
    main()
