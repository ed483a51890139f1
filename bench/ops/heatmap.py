"""The organizer heatmap page, against a folium HeatMap of every point."""

import time

from bench.ops.common import Ctx, row


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


def run(ctx: Ctx) -> list[dict]:
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
        lambda: get("/organize/map/", cold=True), repeats=20, warmup=1, budget_s=60, min_repeats=5
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
            target="p95 ≤ 1 s server time; ≥ 10× the baseline; page ≤ 2 MB",
            met=cold.p95 <= 1.0
            and naive.median >= 10 * cold.median
            and page_bytes <= 2 * 1024 * 1024,
            notes=[
                f"page {page_bytes / 1024:,.0f} kB; with hotspots cached (as after the "
                f"dashboard) median {warm.median * 1000:.0f} ms; the dashboard `/organize/` "
                f"{dashboard.median * 1000:.0f} ms, {sizes[('/organize/', True)] / 1024:,.0f} kB",
                naive_note,
            ],
            extra={"page_bytes": page_bytes, "naive_bytes": size * scale},
        )
    ]
