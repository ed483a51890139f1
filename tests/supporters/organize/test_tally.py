"""The cell tally (supporters per cell and status, kept by triggers) against the table."""

from collections import Counter

import h3
import pytest
from django.db import connection

from geo.heatmap import HEATMAP_RESOLUTION, cell_counts_and_subset, counts_placed
from supporters.models import Supporter
from supporters.organize.tally import tally_compact, tally_counts

pytestmark = pytest.mark.django_db


def tallied() -> Counter:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT cell, status, sum(n) FROM supporters_celltally GROUP BY 1, 2 HAVING sum(n) <> 0"
        )
        return Counter({(cell, status): int(n) for cell, status, n in cursor.fetchall()})


def counted() -> Counter:
    return Counter(Supporter.objects.values_list("cell", "status"))


def test_every_kind_of_write_keeps_the_tally_equal_to_the_table(make_supporter):
    from django.db.models import Q

    people = [make_supporter(lon=37.62, lat=55.75) for _ in range(3)]
    people += [make_supporter(lon=30.31, lat=59.94, status="pending") for _ in range(2)]
    assert tallied() == counted() and sum(counted().values()) == 5

    # One statement, many rows (an import), and a status change by save().
    Supporter.objects.bulk_create(
        Supporter(email=f"bulk{i}@example.org", cell=p.cell, location=p.location)
        for i, p in enumerate(people)
    )
    people[3].status = Supporter.Status.UNSUBSCRIBED
    people[3].save(update_fields=["status"])
    assert tallied() == counted()

    # An update that moves some and leaves others (unchanged rows add nothing).
    kazan = h3.str_to_int(h3.latlng_to_cell(55.79, 49.12, 8))
    before = tallied()
    Supporter.objects.filter(Q(pk=people[0].pk) | Q(pk=people[1].pk)).update(cell=kazan)
    Supporter.objects.filter(pk=people[2].pk).update(display_name="Renamed")
    assert tallied() == counted() != before

    Supporter.objects.filter(pk__in=[people[0].pk, people[4].pk]).delete()
    assert tallied() == counted()

    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the test's transaction's checks
        cursor.execute("TRUNCATE supporters_supporter CASCADE")
    assert tallied() == Counter() == counted()


def test_compacting_folds_the_rows_keeps_the_sums_and_drops_the_zeros(make_supporter):
    people = [make_supporter(lon=37.62, lat=55.75) for _ in range(4)]
    Supporter.objects.filter(pk=people[0].pk).delete()
    Supporter.objects.filter(pk=people[1].pk).update(status="unsubscribed")
    gone = make_supporter(lon=82.92, lat=55.03)
    Supporter.objects.filter(pk=gone.pk).delete()
    sums = tallied()

    before, after = tally_compact()
    assert before > after == len(sums) == 2  # Moscow active and unsubscribed; none at 0
    assert tallied() == sums == counted()
    assert tally_compact() == (2, 2)


def test_tally_counts_are_the_heatmaps_counts_of_the_same_people(make_supporter):
    from django.db.models import Q

    for lon, lat, status in [
        (37.62, 55.75, "active"),
        (37.62, 55.75, "active"),
        (37.62, 55.75, "pending"),
        (37.70, 55.80, "unsubscribed"),
        (82.92, 55.03, "pending"),
    ]:
        make_supporter(lon=lon, lat=lat, status=status)
    everyone = Supporter.objects.all()
    rows = tally_counts(status="", resolution=HEATMAP_RESOLUTION)
    assert counts_placed(rows) == cell_counts_and_subset(everyone, Q(status="active"))

    pending = counts_placed(tally_counts(status="pending", resolution=HEATMAP_RESOLUTION))
    assert sorted(pending[0].count.tolist()) == [1, 1]
    assert pending[1].count.tolist() == [2]  # the active ones, for the hotspots

    # Coarser cells hold their children: both Moscow cells in one, Novosibirsk in another.
    def parent(lat, lon):
        return h3.str_to_int(h3.latlng_to_cell(lat, lon, 4))

    assert parent(55.75, 37.62) == parent(55.80, 37.70)
    assert sorted(tally_counts(status="", resolution=4)) == sorted(
        [(parent(55.75, 37.62), 4, 2), (parent(55.03, 82.92), 1, 0)]
    )
