"""`/api/public/cells` for three viewports, against binning the points in Python."""

import json

from bench.ops.common import NO_BASELINE, Ctx, row

VIEWPORTS = {
    # name: (west, south, east, north, zoom), as a 1920×1080 screen would ask
    "city": (37.30, 55.55, 37.95, 55.95, 11),  # Moscow
    "region": (35.10, 54.20, 40.25, 56.97, 8),  # Moscow oblast
    "country": (19.0, 41.0, 180.0, 82.0, 4),  # Russia
}


def run(ctx: Ctx) -> list[dict]:
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

        notes = [
            f"{features:,} hexagons at resolution {resolution}, "
            f"{len(response.content) / 1024:,.0f} kB; Django test client, in process"
        ]
        met = ours.p95 <= 0.020
        baselines = []
        if ctx.baselines:
            budget = ctx.scaled(10, 30)
            baseline = repeat(naive, repeats=5, warmup=0, budget_s=budget, min_repeats=2)
            baselines = [("ORM points in the bbox, binned in Python", baseline)]
            met = met and baseline.median / ours.median >= 50
        else:
            notes.append(NO_BASELINE + ": only the p95 part of the target is checked")
        rows.append(
            row(
                f"cells_{name}",
                f"`/api/public/cells`, {name} viewport (zoom {zoom})",
                ours=ours,
                baselines=baselines,
                target="p95 ≤ 20 ms; ≥ 50× the baseline",
                met=met,
                unit="ms",
                notes=notes,
            )
        )
    return rows
