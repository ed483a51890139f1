"""The public map's snapshot keeps people k-anonymous whatever a visitor asks for.

Seeded supporters sit in cells of 1 to 30 people; the cells API is then crawled over every
zoom and a grid of bboxes. Also covers the build itself: the SQL H3 parents, the noise,
who counts, the atomic swap and the hourly job.
"""

import json
import math
import os
import subprocess
import sys
import uuid
from pathlib import Path

import h3
import pytest
from django.core.management import call_command
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from geo import hexgrid
from geo.selectors import MAX_ZOOM, max_span_degrees, resolution_for_zoom
from geo.snapshot import (
    NoiseParams,
    cell_polygon_ewkt,
    h3_parent_sql,
    published_count,
)
from geo.snapshot_models import MapSnapshot, PublicArea, PublicCell
from supporters.models import Supporter

CELLS_URL = reverse("api:public_cells")
NOVOSIBIRSK = (82.92, 55.03)
OMSK = (73.37, 54.98)
VLADIVOSTOK = (131.89, 43.12)


# --- helpers shared with the API and browser tests ------------------------------------


def seed_supporters(
    cell: int,
    n: int,
    *,
    status: str = Supporter.Status.ACTIVE,
    public: bool = True,
    region: str = "Novosibirsk Oblast",
    country_code: str = "RU",
    city: str = "Testburg",
) -> list[Supporter]:
    """`n` real supporters snapped to `cell` (bulk-created: a crawl needs hundreds)."""
    centre = hexgrid.cell_centre(cell)
    now = timezone.now()
    return Supporter.objects.bulk_create(
        Supporter(
            email=f"{uuid.uuid4().hex[:12]}@example.org",
            display_name=f"Zyxwa {uuid.uuid4().hex[:8]}",
            status=status,
            confirmed_at=None if status == Supporter.Status.PENDING else now,
            city=city,
            region=region,
            country_code=country_code,
            cell=cell,
            location=centre,
            location_precision="street",
            location_source="test",
            consent_public_map=public,
        )
        for _ in range(n)
    )


def cell_at(lon: float, lat: float, *, resolution: int | None = None) -> int:
    return hexgrid.cell_for_point(lon=lon, lat=lat, resolution=resolution)


def refresh_map() -> None:
    call_command("refresh_map", verbosity=0)


def cells(client, bbox, zoom):
    response = client.get(CELLS_URL, {"bbox": ",".join(map(str, bbox)), "zoom": zoom})
    assert response.status_code == 200, response.content
    return response


def cluster_cells() -> list[int]:
    """30 neighbouring resolution-8 cells around Novosibirsk, for 1, 2, … 30 people."""
    centre = h3.int_to_str(cell_at(*NOVOSIBIRSK))
    return sorted(h3.str_to_int(c) for c in h3.grid_disk(centre, 3))[:30]


# --- the crawl --------------------------------------------------------------------------


@pytest.fixture
def seeded(db):
    """The cluster (cells of 1..30 public supporters), a lone cell of 9 near Omsk, and 60
    people in Vladivostok who must never count: pending, no consent, or unsubscribed."""
    people = []
    for n, cell in enumerate(cluster_cells(), start=1):
        people += seed_supporters(cell, n)
    people += seed_supporters(cell_at(*OMSK), 9, region="Omsk Oblast")
    vladivostok = cell_at(*VLADIVOSTOK)
    hidden = seed_supporters(vladivostok, 20, status=Supporter.Status.PENDING, region="Primorye")
    hidden += seed_supporters(vladivostok, 20, public=False, region="Primorye")
    hidden += seed_supporters(
        vladivostok, 20, status=Supporter.Status.UNSUBSCRIBED, region="Primorye"
    )
    refresh_map()
    return {"public": people, "hidden": hidden, "all": people + hidden}


def bboxes_for(zoom: int, lon: float, lat: float, *, grid: int) -> list[tuple]:
    """A grid×grid of bboxes as large as the zoom allows (halved), centred on a point."""
    if max_span_degrees(zoom) >= 360:
        return [(-180, -85, 180, 85), (lon - 20, lat - 10, lon + 20, lat + 10)]
    size = max_span_degrees(zoom) / 2
    boxes = []
    for i in range(grid):
        for j in range(grid):
            w = max(-180, lon + (i - grid / 2) * size)
            s = max(-85, lat + (j - grid / 2) * size)
            e, n = min(180, w + size), min(85, s + size)
            if w < e and s < n:
                boxes.append((round(w, 6), round(s, 6), round(e, 6), round(n, 6)))
    return boxes


def check_public(response, people, *, k: int, countable=()) -> list[dict]:
    """Every served cell has ≥ k countable people (and says so), is resolution 7 or coarser,
    and is that cell's own hexagon; the body names no supporter and holds none of their
    points."""
    body = response.content.decode()
    collection = json.loads(body)
    assert collection["type"] == "FeatureCollection"
    for person in people:
        assert str(person.pk) not in body and person.display_name not in body
        assert person.email not in body
    points = [(p.location.x, p.location.y) for p in people]
    for feature in collection["features"]:
        props = feature["properties"]
        assert set(props) == {"cell", "count"}
        assert props["count"] >= k and props["count"] % 5 == 0
        assert h3.is_valid_cell(props["cell"]) and feature["id"] == props["cell"]
        res = h3.get_resolution(props["cell"])
        assert res <= 7
        if countable:
            inside = sum(
                h3.cell_to_parent(h3.int_to_str(p.cell), res) == props["cell"] for p in countable
            )
            assert inside >= k, f"{props['cell']} holds {inside} people"
        ring = feature["geometry"]["coordinates"][0]
        assert feature["geometry"]["type"] == "Polygon" and len(ring) == 7
        expected = [(lon, lat) for lat, lon in h3.cell_to_boundary(props["cell"])]
        for (x, y), (ex, ey) in zip(ring, expected, strict=False):
            assert abs(x - ex) < 1e-4 and abs(y - ey) < 1e-4
        for x, y in ring:
            assert all(abs(x - px) > 1e-5 or abs(y - py) > 1e-5 for px, py in points)
    return collection["features"]


def test_a_crawl_of_every_zoom_and_bbox_never_reveals_a_small_cell_or_a_person(
    client, seeded, settings
):
    k = settings.SOSEDI_MAP_K
    public = seeded["public"]
    requests = 0
    for zoom in range(MAX_ZOOM + 1):
        seen_near_cluster = 0
        # Around the cluster, and around the lone 9 near Omsk and the 60 in Vladivostok
        # who do not count: no cell there may be served on their account.
        for place, grid in ((NOVOSIBIRSK, 4), (OMSK, 2), (VLADIVOSTOK, 2)):
            for bbox in bboxes_for(zoom, *place, grid=grid):
                response = cells(client, bbox, zoom)
                features = check_public(response, seeded["all"], k=k, countable=public)
                requests += 1
                if place == NOVOSIBIRSK:
                    seen_near_cluster += len(features)
        assert seen_near_cluster, f"no hexagon drawn at zoom {zoom}"
    assert requests > 300


def test_the_zoom_picks_the_resolution_and_the_finest_is_7(client, seeded):
    lon, lat = NOVOSIBIRSK
    for zoom in range(MAX_ZOOM + 1):
        body = cells(client, bboxes_for(zoom, lon, lat, grid=1)[-1], zoom).json()
        assert body["resolution"] == resolution_for_zoom(zoom) <= 7
    assert resolution_for_zoom(MAX_ZOOM) == 7 and resolution_for_zoom(0) == 2


def test_the_snapshot_tables_hold_no_count_under_k_and_nothing_finer_than_7(seeded, settings):
    assert PublicCell.objects.filter(count__lt=settings.SOSEDI_MAP_K).count() == 0
    assert PublicCell.objects.filter(resolution__gt=7).count() == 0
    assert PublicArea.objects.filter(count__lt=settings.SOSEDI_MAP_K).count() == 0
    # Every resolution from 1 to 7 is published for the cluster.
    assert set(PublicCell.objects.values_list("resolution", flat=True)) == set(range(1, 8))


def test_cells_with_fewer_than_k_people_are_left_out_at_every_resolution(seeded, settings):
    k = settings.SOSEDI_MAP_K
    public = seeded["public"]
    published = set(PublicCell.objects.values_list("cell", flat=True))
    for res in range(1, 8):
        per_parent: dict[int, int] = {}
        for person in public:
            parent = h3.str_to_int(h3.cell_to_parent(h3.int_to_str(person.cell), res))
            per_parent[parent] = per_parent.get(parent, 0) + 1
        assert {c for c, n in per_parent.items() if n >= k} == {
            c for c in published if h3.get_resolution(h3.int_to_str(c)) == res
        }
    # The cluster does have small res-7 cells to hide, and hides them.
    assert any(n < k for n in _res7_counts(public).values())


def _res7_counts(people) -> dict[int, int]:
    counts: dict[int, int] = {}
    for person in people:
        parent = h3.cell_to_parent(h3.int_to_str(person.cell), 7)
        counts[parent] = counts.get(parent, 0) + 1
    return counts


def test_adding_or_removing_supporters_changes_nothing_until_refresh_map(client, seeded):
    lon, lat = NOVOSIBIRSK
    urls = [(bbox, zoom) for zoom in (4, 8, 10, 14) for bbox in bboxes_for(zoom, lon, lat, grid=2)]
    urls.append(((lon - 1, lat - 1, lon + 1, lat + 1), 10))
    before = [cells(client, bbox, zoom).content for bbox, zoom in urls]

    newcomers = seed_supporters(cell_at(lon + 0.3, lat + 0.2), 25)
    Supporter.objects.filter(pk__in=[p.pk for p in seeded["public"][-40:]]).delete()
    Supporter.objects.filter(pk__in=[p.pk for p in seeded["public"][:30]]).update(
        consent_public_map=False
    )
    assert [cells(client, bbox, zoom).content for bbox, zoom in urls] == before

    refresh_map()
    after = [cells(client, bbox, zoom).content for bbox, zoom in urls]
    assert after != before
    newcomers_cell = h3.cell_to_parent(h3.int_to_str(newcomers[0].cell), 7)
    wide = cells(client, (lon - 1, lat - 1, lon + 1, lat + 1), 10).json()
    assert newcomers_cell in {f["id"] for f in wide["features"]}


def test_area_totals_are_published_only_for_k_or_more_and_perturbed(seeded, settings):
    snapshot = MapSnapshot.objects.get()
    areas = {(a.level, a.country_code, a.region): a.count for a in snapshot.areas.all()}
    public = len(seeded["public"])  # 465 in the cluster and 9 near Omsk
    assert abs(areas[("world", "", "")] - public) <= 25
    assert abs(areas[("country", "RU", "")] - public) <= 25
    assert ("region", "RU", "Novosibirsk Oblast") in areas
    # 9 people near Omsk and nobody countable in Primorye: no figure for either region.
    assert ("region", "RU", "Omsk Oblast") not in areas
    assert ("region", "RU", "Primorye") not in areas
    assert all(count % 5 == 0 for count in areas.values())


def test_towns_are_published_from_k_people_under_their_region_and_perturbed(db):
    """The map's text alternative counts towns: only those with k people, a town's
    spellings as one, never a town without a name, and each with noise of its own."""
    cell = cell_at(*NOVOSIBIRSK)
    seed_supporters(cell, 20, city="Berdsk")
    seed_supporters(cell, 20, city="Бердск")  # the same town, as a Russian speaker joined
    seed_supporters(cell, 9, city="Iskitim")  # one short of k
    seed_supporters(cell, 12, city="")  # the town of these is not known
    seed_supporters(cell_at(*OMSK), 30, city="Berdsk", region="Omsk Oblast")  # another Berdsk
    refresh_map()
    towns = {
        (a.region, a.locality): a.count
        for a in MapSnapshot.objects.get().areas.filter(level="locality")
    }
    assert set(towns) == {("Novosibirsk Oblast", "Berdsk"), ("Omsk Oblast", "Berdsk")}
    assert abs(towns[("Novosibirsk Oblast", "Berdsk")] - 40) <= 25
    assert all(count % 5 == 0 and count >= 10 for count in towns.values())
    region = MapSnapshot.objects.get().areas.get(level="region", region="Novosibirsk Oblast")
    assert abs(region.count - 61) <= 25  # the short town and the unknown still count here


# --- the build --------------------------------------------------------------------------


def test_sql_parents_match_h3_at_every_resolution(db):
    cells_ = [cell_at(lon, lat) for lon, lat in (NOVOSIBIRSK, OMSK, VLADIVOSTOK, (-70.6, -33.4))]
    cells_.append(cell_at(179.99, 65.0, resolution=10))
    with connection.cursor() as cursor:
        for cell in cells_:
            res = h3.get_resolution(h3.int_to_str(cell))
            for parent_res in range(res + 1):
                cursor.execute(
                    f"SELECT {h3_parent_sql('v.cell', 'v.res')}"
                    " FROM (VALUES (%s::bigint, %s::int)) v(cell, res)",
                    [cell, parent_res],
                )
                expected = h3.cell_to_parent(h3.int_to_str(cell), parent_res)
                assert h3.int_to_str(cursor.fetchone()[0]) == expected


def test_published_counts_are_noisy_rounded_to_5_never_under_k_and_stable_per_count():
    noise = NoiseParams(epsilon=0.5, key=b"test key", k=10)
    counts = {n: published_count(n, label="cell:1", noise=noise) for n in range(10, 400)}
    assert all(c % 5 == 0 and c >= 10 for c in counts.values())
    errors = [c - n for n, c in counts.items()]
    assert max(abs(e) for e in errors) < 25
    assert abs(sum(errors) / len(errors)) < 1.5  # no bias
    # Not just rounding: the noise moves a good share of counts off their nearest 5.
    moved = sum(c != 5 * math.floor(n / 5 + 0.5) for n, c in counts.items())
    assert moved > len(counts) * 0.3
    # Drawn once per (cell, count): a rebuild with nothing changed republishes the same
    # figure, so averaging snapshots gains nothing; another cell gets another draw.
    assert published_count(123, label="cell:1", noise=noise) == counts[123]
    others = [published_count(n, label="cell:2", noise=noise) for n in range(10, 400)]
    assert others != list(counts.values())
    rekeyed = NoiseParams(epsilon=0.5, key=b"another key", k=10)
    assert [published_count(n, label="cell:1", noise=rekeyed) for n in range(10, 400)] != list(
        counts.values()
    )


def test_a_published_count_floor_follows_k():
    noise = NoiseParams(epsilon=5, key=b"k", k=12)
    assert min(published_count(n, label=f"c{n}", noise=noise) for n in range(12, 40)) >= 15


def test_a_larger_k_publishes_fewer_cells_none_under_it(db, settings):
    for n, cell in enumerate(cluster_cells(), start=1):
        seed_supporters(cell, n)
    refresh_map()
    with_10 = PublicCell.objects.count()
    settings.SOSEDI_MAP_K = 40
    refresh_map()
    current = MapSnapshot.objects.order_by("-version").first()
    assert current.k == 40
    published = PublicCell.objects.filter(snapshot=current)
    assert 0 < published.count() < with_10
    assert published.filter(count__lt=40).count() == 0


def test_each_refresh_swaps_in_a_new_version_and_keeps_only_the_previous_one(db):
    seed_supporters(cell_at(*NOVOSIBIRSK), 12)
    for _ in range(3):
        refresh_map()
    versions = list(MapSnapshot.objects.order_by("version").values_list("version", flat=True))
    assert len(versions) == 2 and versions[1] > versions[0]
    assert set(PublicCell.objects.values_list("snapshot", flat=True)) == set(versions)


def test_a_failed_build_leaves_the_current_snapshot_in_place(db, monkeypatch):
    seed_supporters(cell_at(*NOVOSIBIRSK), 12)
    refresh_map()
    current = MapSnapshot.objects.get()

    def broken(cell):
        raise RuntimeError("boom")

    monkeypatch.setattr("geo.snapshot.cell_polygon_ewkt", broken)
    with pytest.raises(RuntimeError):
        refresh_map()
    assert list(MapSnapshot.objects.all()) == [current]
    assert PublicCell.objects.filter(snapshot=current).count() == 7


def test_no_snapshot_is_published_from_nobody(db):
    refresh_map()
    snapshot = MapSnapshot.objects.get()
    assert snapshot.cells == 0 and not snapshot.areas.exists()


def test_hexagons_across_the_antimeridian_stay_one_piece():
    cell = cell_at(179.98, 66.0, resolution=5)
    ewkt = cell_polygon_ewkt(cell)
    lons = [float(p.split()[0]) for p in ewkt.split("((")[1].rstrip(")").split(", ")]
    assert max(lons) - min(lons) < 5


def test_refresh_map_reports_what_it_built(db, capsys):
    seed_supporters(cell_at(*NOVOSIBIRSK), 12)
    call_command("refresh_map")
    out = capsys.readouterr().out
    assert "12 people on the map" in out and "7 public cells" in out and "k=10" in out


def test_the_worker_rebuilds_the_map_on_the_hourly_schedule(run_worker, settings):
    from asgiref.sync import async_to_sync
    from procrastinate.contrib.django import app
    from procrastinate.periodic import PeriodicDeferrer

    from supporters.tasks import refresh_public_map

    periodic = app.periodic_registry.periodic_tasks[
        ("supporters.tasks.refresh_public_map", "public_map")
    ]
    assert periodic.cron == settings.SOSEDI_MAP_REFRESH_CRON == "0 * * * *"

    # The worker's own periodic deferrer, two minutes past an hour: it defers that hour's
    # rebuild once, however often it looks, and the worker runs it.
    seed_supporters(cell_at(*NOVOSIBIRSK), 12)
    deferrer = PeriodicDeferrer(registry=app.periodic_registry)
    hour = 1_796_000_400  # an hour's start (a multiple of 3600)
    for at in (hour + 120, hour + 121):
        due = [(p, t) for p, t in deferrer.get_previous_tasks(at=at) if p is periodic]
        async_to_sync(deferrer.defer_jobs)(jobs_to_defer=due)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT (args->>'timestamp')::bigint FROM procrastinate_jobs WHERE task_name = %s",
            [refresh_public_map.name],
        )
        assert cursor.fetchall() == [(hour,)]
    run_worker(queues=["maps"])
    assert MapSnapshot.objects.get().cells == 7


ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("k", ["4", "0", "-3"])
def test_the_app_refuses_to_start_with_k_below_5(k):
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "mapsite.settings", "SOSEDI_MAP_K": k},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "SOSEDI_MAP_K must be 5 or more" in result.stderr
