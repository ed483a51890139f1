"""The measured operations, one per process: `python -m bench.ops NAME --n N [--quick]`.

Each operation runs in a process of its own (started by bench/run.py) so that its peak
memory is its own, and prints one line `BENCH_RESULT {json}` with its rows: the
operation's timings, its baselines' timings from the same process, the target and
whether it was met. Times are in seconds.
"""

import argparse
import contextlib
import csv
import json
import math
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OPS: dict = {}


def op(name: str):
    def register(fn):
        OPS[name] = fn
        return fn

    return register


class Ctx:
    def __init__(self, n: int, quick: bool, seed: int, workdir: Path):
        self.n = n
        self.quick = quick
        self.seed = seed
        self.workdir = workdir

    def scaled(self, quick: int, full: int) -> int:
        return quick if self.quick else full


def row(
    key: str,
    operation: str,
    *,
    ours,
    baselines=(),
    target: str,
    met: bool | None,
    unit: str = "s",
    notes: list[str] | None = None,
    extra: dict | None = None,
) -> dict:
    """One line of the table. `ours` and each baseline are Timing or None."""
    base = [dict(label=label, **t.as_dict()) for label, t in baselines if t is not None]
    ratio = base[0]["median"] / ours.median if base and ours and ours.median > 0 else None
    return {
        "key": key,
        "operation": operation,
        "ours": ours.as_dict() if ours else None,
        "baselines": base,
        "ratio": ratio,
        "target": target,
        "met": met,
        "unit": unit,
        "notes": notes or [],
        "extra": extra or {},
    }


def _delete_where_email_endswith(suffix: str) -> int:
    from supporters.demo import _cascade_raw_delete
    from supporters.models import Supporter

    return _cascade_raw_delete(Supporter.objects.filter(email__endswith=suffix))


# --- loading N supporters ---------------------------------------------------------------


@op("load")
def op_load(ctx: Ctx) -> list[dict]:
    from django.conf import settings

    from bench.generate import Generator, bulk_load, places_load, write_copy_files
    from bench.measure import Timing, once
    from supporters.models import ConsentRecord, Supporter

    places = places_load()
    resolution = settings.SOSEDI_H3_RESOLUTION
    gen = Generator(places, seed=ctx.seed, resolution=resolution)
    copy_dir = ctx.workdir / "copy"
    gen_s, (people_path, consent_path, consents) = once(
        lambda: write_copy_files(gen, count=ctx.n, directory=copy_dir)
    )
    conninfo = os.environ["DATABASE_URL"].replace("postgis://", "postgresql://", 1)
    load_s, phases = once(lambda: bulk_load(conninfo, people_path, consent_path))
    shutil.rmtree(copy_dir, ignore_errors=True)

    # The naive way: one save() per person and per consent, each its own transaction.
    sample = ctx.scaled(1000, 2000)
    sample_domain = "sample.bench.sosedi.invalid"
    sgen = Generator(
        places, seed=ctx.seed + 1, resolution=resolution, prefix="s", domain=sample_domain
    )
    b = sgen.batch(0, sample)
    per_row = []
    for i in range(sample):
        p = places[b.place[i]]
        language = str(b.language[i])
        started = time.perf_counter()
        s = Supporter(
            email=b.emails[i],
            display_name=b.names[i],
            language=language,
            status=str(b.status[i]),
            confirmed_at=b.confirmed[i] or None,
            city=p.name_ru if language == "ru" and p.name_ru else p.name,
            region=p.region,
            country_code=p.country_code,
            cell=b.cell[i],
            location=f"SRID=4326;POINT({b.lon[i]} {b.lat[i]})",
            location_precision="street",
            location_source="bench",
            frequency=str(b.frequency[i]),
            topics=b.topics[i].strip("{}").split(",") if b.topics[i] != "{}" else [],
            **{f"consent_{x}": bool(g) for x, g in zip(PURPOSES, b.consents[i], strict=True)},
        )
        s.save()
        for purpose, granted in zip(PURPOSES, b.consents[i], strict=True):
            if granted:
                ConsentRecord(
                    supporter=s,
                    purpose=purpose,
                    granted=True,
                    source="demo",
                    wording_version="bench",
                ).save()
        per_row.append(time.perf_counter() - started)
    _delete_where_email_endswith(f"@{sample_domain}")
    naive_total = sum(per_row) / sample * ctx.n
    ours = Timing([load_s])
    baseline = Timing(per_row, extrapolated=True)
    baseline_total = Timing([naive_total], extrapolated=True)
    rate = ctx.n / load_s
    return [
        row(
            "load",
            f"loading N supporters (COPY, with {consents:,} consent records)",
            ours=ours,
            baselines=[("per-row save(), extrapolated from a sample", baseline_total)],
            target="under 60 s",
            met=load_s < 60,
            notes=[
                "secondary indexes and the foreign key dropped, both tables COPYed at once "
                "on two connections, indexes rebuilt on two, key re-added, ANALYZE: "
                + ", ".join(f"{k.replace('_', ' ')} {v:.1f} s" for k, v in phases.items())
                + f"; {rate:,.0f} supporters/s",
                f"generating the rows (numpy, bench/generate.py) took {gen_s:.1f} s more, "
                "outside the timed load",
                f"baseline: {sample:,} people saved one by one, median "
                f"{baseline.median * 1000:.1f} ms each, extrapolated to N",
            ],
            extra={"generate_s": gen_s, "rows_per_s": rate, "phases": phases},
        )
    ]


PURPOSES = ("public_map", "introductions", "event_invitations", "email_updates")


# --- refresh_map ---------------------------------------------------------------------------


def _refresh_python() -> dict:
    """The public snapshot built in Python: ORM rows, Counter per resolution, ORM writes."""
    from django.contrib.gis.geos import GEOSGeometry
    from django.db import transaction
    from django.utils import timezone
    from h3.api import basic_int as h3int

    from geo.snapshot import NoiseParams, cell_polygon_ewkt, published_count
    from geo.snapshot_models import MapSnapshot, PublicArea, PublicCell
    from supporters.management.commands.refresh_map import public_map_people

    noise = NoiseParams.from_settings()
    resolutions = range(1, 8)
    counts = {r: Counter() for r in resolutions}
    areas: Counter = Counter()
    people = public_map_people().values_list("cell", "country_code", "region")
    for cell, cc, region in people.iterator(chunk_size=20_000):
        for r in resolutions:
            counts[r][h3int.cell_to_parent(cell, r)] += 1
        areas[("world", "", "")] += 1
        if cc:
            areas[("country", cc, "")] += 1
            if region:
                areas[("region", cc, region)] += 1
    with transaction.atomic():
        snapshot = MapSnapshot.objects.create(created_at=timezone.now(), k=noise.k)
        cells = [
            PublicCell(
                snapshot=snapshot,
                resolution=r,
                cell=cell,
                count=published_count(n, label=f"cell:{cell}", noise=noise),
                geom=GEOSGeometry(cell_polygon_ewkt(cell)),
            )
            for r in resolutions
            for cell, n in counts[r].items()
            if n >= noise.k
        ]
        PublicCell.objects.bulk_create(cells, batch_size=2000)
        PublicArea.objects.bulk_create(
            PublicArea(
                snapshot=snapshot,
                level=level,
                country_code=cc,
                region=region,
                count=published_count(n, label=f"{level}:{cc}:{region}", noise=noise),
            )
            for (level, cc, region), n in areas.items()
            if n >= noise.k
        )
        transaction.set_rollback(True)  # measured, not published
    return {"cells": len(cells)}


@op("refresh_map")
def op_refresh_map(ctx: Ctx) -> list[dict]:
    from django.core.management import call_command

    from bench.measure import repeat
    from geo.snapshot_models import MapSnapshot

    ours = repeat(lambda: call_command("refresh_map", verbosity=0), repeats=3, warmup=1)
    snapshot = MapSnapshot.objects.order_by("-version").first()
    baseline = repeat(_refresh_python, repeats=2, warmup=0, budget_s=60, min_repeats=1)
    return [
        row(
            "refresh_map",
            "`refresh_map` (public snapshot)",
            ours=ours,
            baselines=[("the same in Python (ORM rows, Counter, bulk_create)", baseline)],
            target="≤ 30 s",
            met=ours.median <= 30,
            notes=[f"{snapshot.cells:,} public cells at resolutions 1–7"],
        )
    ]


# --- /api/public/cells ---------------------------------------------------------------------

VIEWPORTS = {
    # name: (west, south, east, north, zoom), as a 1920×1080 screen would ask
    "city": (37.30, 55.55, 37.95, 55.95, 11),  # Moscow
    "region": (35.10, 54.20, 40.25, 56.97, 8),  # Moscow oblast
    "country": (19.0, 41.0, 180.0, 82.0, 4),  # Russia
}


@op("cells")
def op_cells(ctx: Ctx) -> list[dict]:
    from django.conf import settings
    from django.contrib.gis.db.models import PointField
    from django.contrib.gis.geos import Polygon
    from django.core.management import call_command
    from django.db.models.functions import Cast
    from django.test import Client

    from bench.baselines import cells_geojson_python
    from bench.measure import repeat
    from geo.snapshot_models import MapSnapshot
    from supporters.management.commands.refresh_map import public_map_people

    if not MapSnapshot.objects.exists():
        call_command("refresh_map", verbosity=0)
    client = Client()
    rows = []
    for name, (w, s, e, n, zoom) in VIEWPORTS.items():
        url = f"/api/public/cells?bbox={w},{s},{e},{n}&zoom={zoom}"
        response = client.get(url)
        assert response.status_code == 200, response.content[:200]
        body = json.loads(response.content)
        resolution, features = body["resolution"], len(body["features"])
        ours = repeat(lambda url=url: client.get(url), repeats=ctx.scaled(60, 200), warmup=5)

        def naive(w=w, s=s, e=e, n=n, resolution=resolution):
            # The bbox on the plane of lon/lat, as the API means it (a geography polygon
            # would have great-circle edges).
            points = (
                public_map_people()
                .annotate(point=Cast("location", PointField(srid=4326, geography=False)))
                .filter(point__bboverlaps=Polygon.from_bbox((w, s, e, n)))
                .values_list("location", flat=True)
            )
            return cells_geojson_python(
                ((p.x, p.y) for p in points.iterator(chunk_size=20_000)),
                resolution=resolution,
                k=settings.SOSEDI_MAP_K,
            )

        baseline = repeat(naive, repeats=5, warmup=0, budget_s=ctx.scaled(10, 30), min_repeats=2)
        rows.append(
            row(
                f"cells_{name}",
                f"`/api/public/cells`, {name} viewport (zoom {zoom})",
                ours=ours,
                baselines=[("ORM points in the bbox, binned in Python", baseline)],
                target="p95 ≤ 20 ms; ≥ 50× the baseline",
                met=ours.p95 <= 0.020 and baseline.median / ours.median >= 50,
                unit="ms",
                notes=[
                    f"{features:,} hexagons at resolution {resolution}, "
                    f"{len(response.content) / 1024:,.0f} kB; Django test client, in process"
                ],
            )
        )
    return rows


# --- introduction candidates ---------------------------------------------------------------


@op("intro")
def op_intro(ctx: Ctx) -> list[dict]:
    from django.conf import settings
    from django.db import connection, transaction

    from bench.baselines import nearest_by_scan
    from bench.measure import Timing, repeat
    from geo import hexgrid

    try:
        from supporters.nearby.selectors import (
            activists_open_to_introductions,
            introduction_candidates,
        )

        def select(requester, limit):
            return introduction_candidates(requester=requester, limit=limit)

        what = "supporters.nearby.selectors.introduction_candidates"
    except ImportError:  # before the nearby app landed: geo.bands.nearest on the activists
        from geo.bands import nearest
        from supporters.models import Supporter

        def activists_open_to_introductions():
            return Supporter.objects.filter(status="active", consent_introductions=True)

        def select(requester, limit):
            qs = activists_open_to_introductions().exclude(pk=requester.pk)
            return nearest(qs, cell=requester.cell, limit=limit)

        what = "geo.bands.nearest"

    k = getattr(settings, "SOSEDI_INTRODUCTION_MAX_CANDIDATES", 5)
    activists = activists_open_to_introductions()
    pks = list(activists.order_by("pk").values_list("pk", flat=True))
    rng = random.Random(ctx.seed)
    sample = [pks[rng.randrange(len(pks))] for _ in range(ctx.scaled(200, 300))]
    requesters = activists.model.objects.in_bulk(sample)

    db_time, captured = [], []

    def timer(execute, sql, params, many, context):
        captured[-1].append((sql, params))
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            db_time[-1] += time.perf_counter() - started

    def server_time(queries) -> float:
        """Planning plus execution inside PostgreSQL (EXPLAIN ANALYZE of the same queries,
        run again at once): what a busy client machine does not inflate."""
        total = 0.0
        with connection.cursor() as cursor:
            for sql, params in queries:
                cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + sql, params)
                (plan,) = cursor.fetchone()
                plan = json.loads(plan) if isinstance(plan, str) else plan
                total += plan[0]["Planning Time"] + plan[0]["Execution Time"]
        return total / 1000

    for pk in sample[:20]:  # warm-up: index pages cached, as in a running server
        select(requesters[pk], k)
    wall, found, server, steps = [], [], [], []
    for pk in sample:
        db_time.append(0.0)
        captured.append([])
        with transaction.atomic():
            with connection.execute_wrapper(timer):
                started = time.perf_counter()
                chosen = select(requesters[pk], k)
                wall.append(time.perf_counter() - started)
            found.append(len(chosen))
            steps.append(len(captured[-1]))
            server.append(server_time(captured[-1]))
            transaction.set_rollback(True)
    ours_db, ours_wall, ours_server = Timing(db_time), Timing(wall), Timing(server)

    # Baseline 1: every activist's point through the ORM, haversine to each, sorted.
    naive_requesters = sample[: ctx.scaled(3, 5)]
    scan_only = []

    def python_scan(requester):
        rows = [
            (pk, p.x, p.y)
            for pk, p in activists.values_list("pk", "location").iterator(chunk_size=20_000)
        ]
        centre = hexgrid.cell_centre(requester.cell)
        started = time.perf_counter()
        nearest_by_scan(
            rows, lon=centre.x, lat=centre.y, exclude=requester.pk, limit=k, within_m=25_000
        )
        scan_only.append(time.perf_counter() - started)

    it = iter(naive_requesters * 3)
    python = repeat(
        lambda: python_scan(requesters[next(it)]),
        repeats=len(naive_requesters),
        warmup=0,
        budget_s=60,
        min_repeats=2,
    )

    # Baseline 2: the same query in SQL, ST_Distance in the WHERE clause, no index.
    def sql_no_index(requester):
        centre = hexgrid.cell_centre(requester.cell)
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_indexscan = off; SET LOCAL enable_bitmapscan = off")
            cursor.execute(
                "SELECT id FROM supporters_supporter"
                " WHERE status = 'active' AND consent_introductions AND id <> %s"
                " AND ST_Distance(location, ST_GeogFromText(%s)) <= 25000"
                " ORDER BY ST_Distance(location, ST_GeogFromText(%s)), random() LIMIT %s",
                [requester.pk, centre.ewkt, centre.ewkt, k],
            )
            return cursor.fetchall()

    it2 = iter(sample * 2)
    no_index = repeat(
        lambda: sql_no_index(requesters[next(it2)]),
        repeats=ctx.scaled(5, 10),
        warmup=1,
        budget_s=60,
        min_repeats=3,
    )
    ratio_whole_call = python.median / ours_wall.median
    return [
        row(
            "intro",
            f"introduction candidates (K={k} nearest consenting activists within 25 km)",
            ours=ours_server,
            baselines=[
                ("Python haversine scan over every activist (ORM fetch + scan)", python),
                ("SQL ST_Distance without index", no_index),
            ],
            target="p95 ≤ 10 ms in the database; ≥ 100× the Python scan",
            met=ours_server.p95 <= 0.010 and ratio_whole_call >= 100,
            unit="ms",
            notes=[
                f"{len(pks):,} activists open to introductions; {len(sample)} requesters at "
                f"random; `{what}` with every exclusion, in a rolled-back transaction; "
                f"{statistics.median(steps):.0f} queries a call (max {max(steps)}: the search "
                "widens 1, 3, 10, 25 km until K are found)",
                "Sosedi's time is inside PostgreSQL (EXPLAIN ANALYZE planning + execution of "
                "the call's queries); as the client saw it (round trips): median "
                f"{ours_db.median * 1000:.1f} ms, p95 {ours_db.p95 * 1000:.1f} ms; the whole "
                f"selector call (ORM + SQL): median {ours_wall.median * 1000:.1f} ms, p95 "
                f"{ours_wall.p95 * 1000:.1f} ms, {ratio_whole_call:,.0f}× faster than the "
                "Python scan",
                f"candidates found: median {sorted(found)[len(found) // 2]}, min {min(found)}; "
                "the haversine loop alone (rows already in memory): median "
                f"{sorted(scan_only)[len(scan_only) // 2] * 1000:.0f} ms",
            ],
            extra={"wall": ours_wall.as_dict()},
        )
    ]


# --- organizer heatmap page and hotspots ---------------------------------------------------


def _organizer_client():
    from django.contrib.auth import get_user_model
    from django.test import Client
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    user, _ = get_user_model().objects.get_or_create(
        username="bench-organizer", defaults={"is_staff": True, "is_superuser": True}
    )
    device, _ = TOTPDevice.objects.get_or_create(
        user=user, name="bench", defaults={"confirmed": True}
    )
    client = Client()
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client


def _folium_every_point(limit: int) -> int:
    import folium
    from folium.plugins import HeatMap

    from supporters.models import Supporter

    points = [
        [p.y, p.x]
        for p in Supporter.objects.values_list("location", flat=True)[:limit].iterator(
            chunk_size=20_000
        )
    ]
    fmap = folium.Map(location=[55.75, 37.62], zoom_start=4)
    HeatMap(points).add_to(fmap)
    return len(fmap.get_root().render().encode())


@op("heatmap")
def op_heatmap(ctx: Ctx) -> list[dict]:
    from django.core.cache import cache

    from bench.measure import Timing, repeat

    client = _organizer_client()
    sizes = {}

    def get(path, *, cold):
        if cold:
            cache.clear()  # hotspots are cached for 5 minutes: measure without that too
        response = client.get(path)
        assert response.status_code == 200, (path, response.status_code)
        sizes[(path, cold)] = len(response.content)

    cold = repeat(
        lambda: get("/organize/map/", cold=True), repeats=5, warmup=1, budget_s=90, min_repeats=3
    )
    warm = repeat(
        lambda: get("/organize/map/", cold=False), repeats=5, warmup=0, budget_s=45, min_repeats=3
    )
    dashboard = repeat(
        lambda: get("/organize/", cold=True), repeats=3, warmup=0, budget_s=60, min_repeats=1
    )
    page_bytes = sizes[("/organize/map/", True)]

    limit = min(ctx.n, 200_000)
    samples, size = [], 0
    for _ in range(ctx.scaled(1, 2)):
        started = time.perf_counter()
        size = _folium_every_point(limit)
        samples.append(time.perf_counter() - started)
    scale = ctx.n / limit
    naive = Timing([s * scale for s in samples], extrapolated=scale > 1)
    naive_note = f"baseline: folium HeatMap of {limit:,} people's points, {size / 1e6:.1f} MB; " + (
        f"time and size extrapolated ×{scale:.0f} to N ({size * scale / 1e6:,.0f} MB)"
        if scale > 1
        else "every person"
    )
    return [
        row(
            "heatmap",
            "organizer heatmap page (`/organize/map/`, hotspots not cached)",
            ours=cold,
            baselines=[("folium HeatMap of every person's point", naive)],
            target="server time ≤ 1 s; page ≤ 2 MB",
            met=cold.median <= 1.0 and page_bytes <= 2 * 1024 * 1024,
            notes=[
                f"page {page_bytes / 1024:,.0f} kB; with hotspots cached (as after the "
                f"dashboard) median {warm.median * 1000:.0f} ms; the dashboard `/organize/` "
                f"{dashboard.median * 1000:.0f} ms, {sizes[('/organize/', True)] / 1024:,.0f} kB",
                naive_note,
            ],
            extra={"page_bytes": page_bytes, "naive_bytes": size * scale},
        )
    ]


@op("hotspots")
def op_hotspots(ctx: Ctx) -> list[dict]:
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


# --- importing 63,000 CSV rows ---------------------------------------------------------------

IMPORT_DOMAIN = "import.bench.invalid"
IMPORT_ROWS = 63_000


def _import_csv(path: Path, rows: int, seed: int) -> None:
    """A branch's contact list: Cyrillic and Latin town names, some pins, tags, consents,
    and a few bad rows (as real lists have)."""
    from bench.generate import places_load

    places = places_load()
    rng = random.Random(seed)
    weights = [p.population for p in places]
    chosen = rng.choices(places, weights=weights, k=rows)
    yes_no = ("yes", "no", "", "да", "нет")
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(
            [
                "email",
                "name",
                "language",
                "location",
                "lat",
                "lon",
                "tags",
                "joined_at",
                "consent_public_map",
                "consent_email_updates",
                "consent_source",
            ]
        )
        for i, p in enumerate(chosen):
            roll = rng.random()
            location, lat, lon = "", "", ""
            if roll < 0.05:
                lat, lon = f"{p.lat + rng.uniform(-0.05, 0.05):.5f}", f"{p.lon:.5f}"
            elif roll < 0.65 and p.name_ru:
                location = p.name_ru
            else:
                location = p.name
            email = f"person{i:06d}@{IMPORT_DOMAIN}" if rng.random() > 0.004 else "not-an-email"
            consents = [rng.choice(yes_no), rng.choice(yes_no)]
            w.writerow(
                [
                    email,
                    f"Человек {i}",
                    rng.choice(["ru", "en"]),
                    location,
                    lat,
                    lon,
                    rng.choice(["", "volunteer", "rally-2024|volunteer", "donor"]),
                    f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
                    *consents,
                    "paper form, rally 2024" if any(c in ("yes", "да") for c in consents) else "",
                ]
            )


@op("import")
def op_import(ctx: Ctx) -> list[dict]:
    from django.core.management import call_command
    from django.core.validators import validate_email

    from bench.measure import Timing, repeat
    from geo.geocoding import GeocodingError, geocode, locate_pin
    from supporters.models import ConsentRecord, Supporter
    from supporters.organize.models import Import, Tagging

    path = ctx.workdir / "import.csv"
    _import_csv(path, IMPORT_ROWS, ctx.seed)
    result = {}

    def ours_call():
        _delete_where_email_endswith(f"@{IMPORT_DOMAIN}")
        out = open(os.devnull, "w")  # noqa: SIM115
        call_command("import_supporters", str(path), stdout=out)
        job = Import.objects.order_by("-pk").first()
        result.update(created=job.created, updated=job.updated, failed=job.failed)

    ours = repeat(ours_call, repeats=ctx.scaled(1, 2), warmup=0)

    # Baseline: each row parsed, geocoded on its own (no per-import memo) and saved with
    # one save() per person, consent and tag, each in its own transaction.
    sample = ctx.scaled(300, 1000)
    with path.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))[:sample]
    per_row = []
    for i, r in enumerate(rows):
        started = time.perf_counter()
        try:
            email = r["email"].replace("person", "naive")
            validate_email(email)
            if r["lat"]:
                loc = locate_pin(lon=float(r["lon"]), lat=float(r["lat"]), language=r["language"])
            else:
                loc = geocode(r["location"], language=r["language"])
        except Exception:  # noqa: BLE001,S112 -- a bad row costs its parse, as in ours
            per_row.append(time.perf_counter() - started)
            continue
        s = Supporter(
            email=email,
            display_name=r["name"],
            language=r["language"],
            status="active",
            confirmed_at=f"{r['joined_at']}T12:00:00Z",
            cell=loc.cell,
            location=loc.centre,
            location_precision=loc.precision,
            location_source="import",
            city=loc.city,
            region=loc.region,
            country_code=loc.country_code,
            consent_public_map=r["consent_public_map"] in ("yes", "да"),
            consent_email_updates=r["consent_email_updates"] in ("yes", "да"),
        )
        s.save()
        for purpose in ("public_map", "email_updates"):
            if getattr(s, f"consent_{purpose}"):
                ConsentRecord(
                    supporter=s,
                    purpose=purpose,
                    granted=True,
                    source="import",
                    wording_version="imported",
                ).save()
        for tag in filter(None, r["tags"].split("|")):
            Tagging(supporter=s, name=tag).save()
        per_row.append(time.perf_counter() - started)
        del i
    _delete_where_email_endswith(f"@{IMPORT_DOMAIN}")
    naive = Timing([sum(per_row) / len(per_row) * IMPORT_ROWS], extrapolated=True)
    del GeocodingError
    return [
        row(
            "import",
            f"importing {IMPORT_ROWS:,} CSV rows (gazetteer geocoding)",
            ours=ours,
            baselines=[("per-row save, per-row lookup, extrapolated from a sample", naive)],
            target="≤ 30 s",
            met=ours.median <= 30,
            notes=[
                f"`manage.py import_supporters`: {result['created']:,} created, "
                f"{result['failed']:,} rows reported as problems; "
                f"{IMPORT_ROWS / ours.median:,.0f} rows/s",
                f"baseline: {len(per_row):,} rows one by one, extrapolated to {IMPORT_ROWS:,}",
            ],
        )
    ]


# --- sign-up POST under 50 concurrent clients -------------------------------------------------

SIGNUP_DOMAIN = "signup.bench.invalid"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_up(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 -- 127.0.0.1 only
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


def _csrf(base: str) -> tuple[str, str]:
    with urllib.request.urlopen(f"{base}/join/", timeout=10) as response:  # noqa: S310
        html = response.read().decode()
        cookies = response.headers.get_all("Set-Cookie") or []
    cookie = next(c.split(";")[0].split("=", 1)[1] for c in cookies if c.startswith("csrftoken="))
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)
    return cookie, token


def _wrk(url: str, script: Path, seconds: int, *args: str) -> dict:
    command = ["wrk", "-t2", "-c50", f"-d{seconds}s", "--timeout", "5s", "-s", str(script), url]
    if args:
        command += ["--", *args]
    out = subprocess.run(command, capture_output=True, text=True, check=True, timeout=seconds + 60)
    line = next(x for x in out.stdout.splitlines() if x.startswith("BENCH_JSON "))
    return json.loads(line.removeprefix("BENCH_JSON "))


def _peak_rss_mb(master: int) -> float:
    """Sum of the gunicorn workers' peak resident memory (VmHWM), plus the master's."""
    pids = [master]
    with contextlib.suppress(OSError):
        pids += [int(p) for p in Path(f"/proc/{master}/task/{master}/children").read_text().split()]
    total = 0
    for pid in pids:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        total += int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1))
    return total / 1024


@op("signup")
def op_signup(ctx: Ctx) -> list[dict]:
    from bench.measure import Timing
    from supporters.models import Supporter

    if not shutil.which("wrk"):
        raise RuntimeError("wrk is not installed (apt-get install wrk; make setup does it)")
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = dict(
        os.environ,
        DJANGO_SETTINGS_MODULE="bench.settings",
        DEBUG="false",
        SOSEDI_SIGNUPS_PER_IP_PER_HOUR="1000000000",
        SOSEDI_MAP_REFRESH_CRON="",
        LOG_LEVEL="WARNING",
    )
    gunicorn = [
        str(Path(sys.executable).with_name("gunicorn")),
        "mapsite.wsgi:application",
        # as docs/deploy/sosedi-web.service runs it
        "--workers",
        "2",
        "--threads",
        os.environ.get("BENCH_THREADS", "4"),
        "--keep-alive",
        "5",
        "--bind",
        f"127.0.0.1:{port}",
        "--log-level",
        "warning",
    ]
    server = subprocess.Popen(gunicorn, cwd=ROOT, env=env)
    try:
        _wait_up(f"{base}/bench/hello/")
        cookie, token = _csrf(base)
        seconds = ctx.scaled(10, 20)
        here = Path(__file__).parent
        cities = ",".join(
            urllib.parse.quote(c) for c in ("Москва", "Санкт-Петербург", "Kazan", "Тверь")
        )
        runs = {"hello": [], "signup": []}
        for round_ in range(2):
            runs["hello"].append(_wrk(f"{base}/bench/hello/", here / "hello.lua", seconds))
            runs["signup"].append(
                _wrk(
                    f"{base}/join/",
                    here / "signup.lua",
                    seconds,
                    token,
                    cookie,
                    f"r{round_}",
                    SIGNUP_DOMAIN,
                    cities,
                )
            )
        peak = _peak_rss_mb(server.pid)
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()

    def rate(r):
        return (r["requests"] - r["bad"]) / (r["duration_us"] / 1e6)

    hello_rates = [rate(r) for r in runs["hello"]]
    signup_rates = [rate(r) for r in runs["signup"]]
    errors = sum(r["bad"] + r["errors"] for r in runs["signup"])
    stored = Supporter.objects.filter(email__endswith=f"@{SIGNUP_DOMAIN}").count()
    answered = sum(r["requests"] - r["bad"] for r in runs["signup"])
    p95 = max(r["p95_us"] for r in runs["signup"]) / 1e6
    signup_rate = sorted(signup_rates)[0]
    share = sum(signup_rates) / sum(hello_rates)
    _delete_where_email_endswith(f"@{SIGNUP_DOMAIN}")
    # Throughput rows: the "timings" are seconds per request at the measured rate.
    ours = Timing([1 / r for r in signup_rates], extra={"rates": signup_rates})
    hello = Timing([1 / r for r in hello_rates], extra={"rates": hello_rates})
    return [
        row(
            "signup",
            "sign-up POST, 50 concurrent clients (gunicorn, 2 workers × 4 threads)",
            ours=ours,
            baselines=[("hello-world Django view, same server", hello)],
            target="≥ 100 sign-ups/s, ≥ 30 % of hello-world, p95 ≤ 150 ms, no errors",
            met=signup_rate >= 100 and share >= 0.30 and p95 <= 0.150 and errors == 0,
            unit="rate",
            notes=[
                f"sign-ups/s {' and '.join(f'{r:.0f}' for r in signup_rates)} (two "
                f"{seconds} s runs), hello-world {' and '.join(f'{r:.0f}' for r in hello_rates)}"
                f"/s: {share:.0%} of hello-world",
                f"sign-up latency p50 {max(r['p50_us'] for r in runs['signup']) / 1000:.0f} ms,"
                f" p95 {p95 * 1000:.0f} ms, p99 "
                f"{max(r['p99_us'] for r in runs['signup']) / 1000:.0f} ms; errors "
                f"{errors}; {stored:,} supporters stored for {answered:,} redirects",
                f"gunicorn peak RSS (master + 2 workers) {peak:.0f} MB; wrk -t2 -c50 on the "
                "same 2 cores",
            ],
            extra={
                "signup_rates": signup_rates,
                "hello_rates": hello_rates,
                "p95_s": p95,
                "errors": errors,
                "stored": stored,
                "answered": answered,
                "gunicorn_peak_mb": peak,
            },
        )
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("name", choices=sorted(OPS))
    parser.add_argument("--n", type=int, required=True)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workdir", type=Path, default=ROOT / "var" / "bench")
    parser.add_argument("--profile", action="store_true", help="pyinstrument, to workdir")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mapsite.settings")
    import django

    django.setup()
    args.workdir.mkdir(parents=True, exist_ok=True)
    ctx = Ctx(args.n, args.quick, args.seed, args.workdir)
    if args.profile:
        from pyinstrument import Profiler

        with Profiler() as profiler:
            rows = OPS[args.name](ctx)
        out = args.workdir / f"profile-{args.name}.html"
        out.write_text(profiler.output_html())
        (args.workdir / f"profile-{args.name}.txt").write_text(profiler.output_text())
    else:
        rows = OPS[args.name](ctx)
    print("BENCH_RESULT " + json.dumps(rows), flush=True)


if __name__ == "__main__":
    main()
