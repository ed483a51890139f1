"""Who counts in nearby answers, and who may read them.

Someone probing nearby answers needs accounts at homes of their choosing, and someone
padding a count up to k needs several near one another. Two rules make both slow and
visible:

- Settling: an account counts in other people's nearby answers (band counts, invitation
  counts) and is asked for introductions only once it has lived at its home, confirmed,
  for SOSEDI_NEARBY_SETTLE_DAYS (moving home starts the wait again). An account made or
  moved to pad a count has to sit there for that long first.
- Holds: many accounts arriving in one resolution-7 area (about 5 km²) within a week, by
  signing up there or by moving their home there, is what a prober looks like. Past
  SOSEDI_NEARBY_ARRIVALS_PER_AREA_WEEK arrivals in a week, every account that arrived
  there in that week is held: it reads no nearby answers until its arrival is a week old
  or a moderator releases the area. Nobody is refused sign-up: the hold concerns nearby
  only, and the moderation queue shows the area (a flag, not a block).
"""

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Max, Q, QuerySet
from django.utils import timezone

from geo import hexgrid
from supporters.models import Supporter
from supporters.nearby.models import AreaArrival, NearbyBan

WINDOW = timedelta(days=7)


def settled(queryset: QuerySet[Supporter], *, now: datetime | None = None) -> QuerySet[Supporter]:
    """The supporters of `queryset` who have lived at their home, confirmed, for the
    settling time: the only ones counted in, or asked through, other people's answers."""
    since = (now or timezone.now()) - timedelta(days=settings.SOSEDI_NEARBY_SETTLE_DAYS)
    return queryset.filter(
        Q(confirmed_at__lte=since),
        Q(location_changed_at__isnull=True) | Q(location_changed_at__lte=since),
    )


def area_of(cell: int) -> int:
    return hexgrid.cell_parent(cell, AreaArrival.AREA_RESOLUTION)


def _recent(now: datetime | None = None) -> QuerySet[AreaArrival]:
    since = (now or timezone.now()) - WINDOW
    return AreaArrival.objects.filter(arrived_at__gt=since, released_at__isnull=True)


def _crowded_areas(now: datetime | None = None) -> QuerySet:
    return (
        _recent(now)
        .values("area")
        .annotate(n=Count("supporter", distinct=True))
        .filter(n__gt=settings.SOSEDI_NEARBY_ARRIVALS_PER_AREA_WEEK)
        .values("area")
    )


def hold_ends(*, supporter: Supporter) -> datetime | None:
    """When the supporter's hold ends, or None if they are not held."""
    last = (
        _recent()
        .filter(supporter=supporter, area__in=_crowded_areas())
        .aggregate(last=Max("arrived_at"))["last"]
    )
    return last + WINDOW if last else None


def crowded_area_count() -> int:
    return _crowded_areas().count()


@dataclass(frozen=True)
class Crowd:
    area: int
    place: str
    arrivals: int  # accounts that arrived (one may have arrived twice)
    first: datetime
    last: datetime
    accounts: list[Supporter]


def crowded_areas() -> list[Crowd]:
    """For the moderation queue: each area over the limit, with the accounts held there."""
    rows = list(
        _recent()
        .filter(area__in=_crowded_areas())
        .select_related("supporter")
        .order_by("arrived_at")
    )
    by_area: dict[int, list[AreaArrival]] = {}
    for row in rows:
        by_area.setdefault(row.area, []).append(row)
    crowds = []
    for area, arrivals in by_area.items():
        people = list({a.supporter_id: a.supporter for a in arrivals}.values())
        places = Counter(p.city for p in people if p.city)
        crowds.append(
            Crowd(
                area=area,
                place=places.most_common(1)[0][0] if places else "",
                arrivals=len(people),
                first=arrivals[0].arrived_at,
                last=arrivals[-1].arrived_at,
                accounts=people,
            )
        )
    return sorted(crowds, key=lambda c: c.arrivals, reverse=True)


@transaction.atomic
def area_release(*, area: int) -> int:
    """A moderator has looked: the area's accounts may read nearby answers again (they are
    counted in others' once settled, as everyone). Returns how many accounts were released."""
    arrivals = _recent().filter(area=area)
    accounts = arrivals.values("supporter_id").distinct().count()
    arrivals.update(released_at=timezone.now())
    return accounts


@transaction.atomic
def area_close(*, area: int, reason: str) -> int:
    """A moderator closes nearby for every account held in the area (as an upheld report
    does); the arrivals are released, since the accounts are barred now. Returns how many
    accounts were barred."""
    ids = set(_recent().filter(area=area).values_list("supporter_id", flat=True))
    already = set(
        NearbyBan.objects.filter(supporter_id__in=ids).values_list("supporter_id", flat=True)
    )
    NearbyBan.objects.bulk_create(
        NearbyBan(supporter_id=pk, reason=reason[:200]) for pk in ids - already
    )
    area_release(area=area)
    return len(ids - already)
