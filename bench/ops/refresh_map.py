"""`refresh_map`: the public snapshot, against the same built in Python."""

from collections import Counter

from bench.ops.common import NO_BASELINE, Ctx, row


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


def run(ctx: Ctx) -> list[dict]:
    from django.core.management import call_command

    from bench.measure import repeat
    from geo.snapshot_models import MapSnapshot

    ours = repeat(lambda: call_command("refresh_map", verbosity=0), repeats=3, warmup=1)
    snapshot = MapSnapshot.objects.order_by("-version").first()
    baselines = []
    if ctx.baselines:
        baseline = repeat(_refresh_python, repeats=2, warmup=0, budget_s=60, min_repeats=1)
        baselines = [("the same in Python (ORM rows, Counter, bulk_create)", baseline)]
    return [
        row(
            "refresh_map",
            "`refresh_map` (public snapshot)",
            ours=ours,
            baselines=baselines,
            target="≤ 30 s",
            met=ours.median <= 30,
            notes=[f"{snapshot.cells:,} public cells at resolutions 1–7"]
            + ([] if ctx.baselines else [NO_BASELINE]),
        )
    ]
