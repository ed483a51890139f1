"""Reads for the organizer workspace: filtered supporters, segments, counts and growth."""

from dataclasses import asdict, dataclass, field, replace
from datetime import date, datetime, timedelta

from django.contrib.gis.measure import D
from django.db import connection
from django.db.models import Avg, Count, Exists, FloatField, Func, OuterRef, Q, QuerySet
from django.db.models.functions import TruncWeek
from django.utils import timezone

from geo.localities import LocalityText, places_for_localities
from supporters.models import Frequency, Purpose, Supporter
from supporters.organize.models import MailingRecipient, Segment, Tagging


@dataclass(frozen=True)
class SupporterFilter:
    """The dashboard's filters; every field narrows, an empty one does not."""

    purpose: str = ""
    status: str = ""
    tags: tuple[str, ...] = field(default_factory=tuple)
    joined_from: date | None = None
    joined_to: date | None = None
    country: str = ""
    region: str = ""

    def describe(self) -> dict:
        """JSON-ready, for the audit log and for links."""
        d = asdict(self)
        d["tags"] = list(self.tags)
        for key in ("joined_from", "joined_to"):
            d[key] = d[key].isoformat() if d[key] else None
        return {k: v for k, v in d.items() if v}


def _with_tags(queryset: QuerySet, tags) -> QuerySet:
    """Supporters with any of the tags."""
    if not tags:
        return queryset
    return queryset.filter(
        Exists(Tagging.objects.filter(supporter=OuterRef("pk"), name__in=list(tags)))
    )


def supporters_filtered(*, filters: SupporterFilter) -> QuerySet:
    qs = Supporter.objects.all()
    if filters.purpose:
        qs = qs.filter(**{f"consent_{Purpose(filters.purpose).value}": True})
    if filters.status:
        qs = qs.filter(status=filters.status)
    if filters.joined_from:
        qs = qs.filter(created_at__date__gte=filters.joined_from)
    if filters.joined_to:
        qs = qs.filter(created_at__date__lte=filters.joined_to)
    if filters.country:
        qs = qs.filter(country_code=filters.country.upper())
    if filters.region:
        qs = qs.filter(region=filters.region)
    return _with_tags(qs, filters.tags)


def segment_filter(*, segment: Segment) -> SupporterFilter:
    """The dashboard filters a segment keeps (all but the status)."""
    return SupporterFilter(
        purpose=segment.purpose,
        tags=tuple(segment.tags),
        joined_from=segment.joined_from,
        joined_to=segment.joined_to,
        country=segment.country_code,
        region=segment.region,
    )


def segment_population(*, filters: SupporterFilter) -> QuerySet:
    """Who a segment made from these filters holds before an area narrows it.

    Segments hold active supporters only, so a status filter gives way to 'active'.
    """
    return supporters_filtered(filters=replace(filters, status=Supporter.Status.ACTIVE))


# How long after a (non-call-to-action) mailing the next one waits, by chosen frequency.
MAILING_GAPS = {Frequency.WEEKLY: timedelta(days=7), Frequency.MONTHLY: timedelta(days=30)}


def _mailing_topic_fits(topic: str) -> Q | None:
    """Who wants a mailing on `topic`: no topic chosen, or it among theirs; None: everyone."""
    if not topic:
        return None
    return Q(topics=[]) | Q(topics__contains=[topic])


def _mailing_frequency_fits(*, call_to_action: bool, now: datetime) -> Q | None:
    """Who a mailing may reach by the frequency they chose; None: everyone.

    A call to action reaches every frequency. Anything else skips 'only calls to action',
    and weekly or monthly people who were sent one in the last 7 or 30 days.
    """
    if call_to_action:
        return None
    fits = Q(frequency=Frequency.DAILY)
    for frequency, gap in MAILING_GAPS.items():
        recent = MailingRecipient.objects.filter(
            supporter=OuterRef("pk"),
            mailing__call_to_action=False,
            message__created_at__gt=now - gap,
        )
        fits |= Q(frequency=frequency) & ~Q(Exists(recent))
    return fits


def segment_members(
    *,
    segment: Segment,
    for_mailing: bool = False,
    topic: str = "",
    call_to_action: bool = False,
    now: datetime | None = None,
) -> QuerySet:
    """Active supporters in the segment's area who pass its filters.

    A mailing goes only to those who consented to email updates, whatever the segment's
    own purpose says, and who want it: its topic and their frequency fit (see above).
    """
    qs = segment_population(filters=segment_filter(segment=segment))
    if segment.area is not None:
        qs = qs.filter(location__intersects=segment.area)
    elif segment.centre is not None:
        qs = qs.filter(location__dwithin=(segment.centre, D(km=segment.radius_km)))
    if segment.group_id is not None:
        qs = qs.filter(group_memberships__group_id=segment.group_id)
    if for_mailing:
        qs = qs.filter(consent_email_updates=True).exclude(email="")
        for fits in (
            _mailing_topic_fits(topic),
            _mailing_frequency_fits(call_to_action=call_to_action, now=now or timezone.now()),
        ):
            if fits is not None:
                qs = qs.filter(fits)
    return qs


def segment_consenting(*, segment: Segment) -> QuerySet:
    """Members who agreed to email updates, whatever a mailing's topic and kind."""
    return segment_members(segment=segment).filter(consent_email_updates=True)


@dataclass(frozen=True)
class MailingAudience:
    """Who in a segment a mailing would reach, and why the others with consent would not."""

    consenting: int  # in the segment with email-updates consent
    recipients: int
    left_out_by_topic: int  # did not choose the mailing's topic
    left_out_by_frequency: int  # chose it (or no topic), but their frequency says not now


def mailing_audience(
    *, segment: Segment, topic: str = "", call_to_action: bool = False
) -> MailingAudience:
    """The counts shown before sending; consenting is the other three summed.

    `recipients` is the count of the very queryset mailing_start and the worker address.
    """
    now = timezone.now()
    recipients = segment_members(
        segment=segment, for_mailing=True, topic=topic, call_to_action=call_to_action, now=now
    ).count()
    topic_fits = _mailing_topic_fits(topic)
    frequency_fits = _mailing_frequency_fits(call_to_action=call_to_action, now=now)
    aggregates = {"consenting": Count("pk")}
    if topic_fits is not None:
        aggregates["by_topic"] = Count("pk", filter=~topic_fits)
    if frequency_fits is not None:
        aggregates["by_frequency"] = Count("pk", filter=(topic_fits or Q()) & ~frequency_fits)
    row = segment_consenting(segment=segment).aggregate(**aggregates)
    return MailingAudience(
        consenting=row["consenting"],
        recipients=recipients,
        left_out_by_topic=row.get("by_topic", 0),
        left_out_by_frequency=row.get("by_frequency", 0),
    )


@dataclass(frozen=True)
class Totals:
    supporters: int
    by_status: dict[str, int]
    by_purpose: dict[str, int]


def supporter_totals(*, queryset: QuerySet) -> Totals:
    """The headline counts of a filtered set, in one query."""
    aggregates = {f"s_{s.value}": Count("pk", filter=Q(status=s.value)) for s in Supporter.Status}
    aggregates |= {
        f"p_{p.value}": Count("pk", filter=Q(**{f"consent_{p.value}": True})) for p in Purpose
    }
    row = queryset.order_by().aggregate(total=Count("pk"), **aggregates)
    return Totals(
        supporters=row["total"],
        by_status={s.value: row[f"s_{s.value}"] for s in Supporter.Status},
        by_purpose={p.value: row[f"p_{p.value}"] for p in Purpose},
    )


class _Lon(Func):
    function = "ST_X"
    template = "%(function)s(%(expressions)s::geometry)"
    output_field = FloatField()


class _Lat(_Lon):
    function = "ST_Y"


def supporters_by_locality(
    *, queryset: QuerySet, language: str = "en", limit: int = 50
) -> list[dict]:
    """Counts by town, largest first; a town's spellings count as one.

    The distinct (country, region, town) texts are matched to gazetteer places in one
    query and merged by place, named in `language`; texts that match no place stay as
    they are. Each row: country_code, region, city, count and place (a geonameid or None).
    """
    groups = list(
        queryset.order_by()
        .values("country_code", "region", "city")
        .annotate(count=Count("pk"), lon=Avg(_Lon("location")), lat=Avg(_Lat("location")))
        .order_by("-count", "country_code", "region", "city")
    )
    texts = [
        LocalityText(
            country_code=g["country_code"],
            region=g["region"],
            city=g["city"],
            lat=g["lat"],
            lon=g["lon"],
        )
        for g in groups
    ]
    places = places_for_localities(texts)
    merged: dict[tuple, dict] = {}
    for group, text in zip(groups, texts, strict=True):
        place = places.get(text)
        if place is None:
            key = ("text", group["country_code"], group["region"], group["city"])
            row = {k: group[k] for k in ("country_code", "region", "city")} | {"place": None}
        else:
            key = ("place", place.geonameid)
            row = {
                "country_code": place.country_code,
                "region": place.region or group["region"],
                "city": place.display_name(language),
                "place": place.geonameid,
            }
        merged.setdefault(key, row | {"count": 0})["count"] += group["count"]
    return sorted(
        merged.values(),
        key=lambda r: (-r["count"], r["country_code"], r["region"], r["city"]),
    )[:limit]


def supporters_by_region(*, queryset: QuerySet, limit: int = 30) -> list[dict]:
    """Counts by (country_code, region), largest first."""
    return list(
        queryset.order_by()
        .values("country_code", "region")
        .annotate(count=Count("pk"))
        .order_by("-count", "country_code", "region")[:limit]
    )


def supporter_weekly_growth(*, queryset: QuerySet) -> list[tuple[date, int, int]]:
    """(week, confirmed that week, confirmed in total by the end of it), oldest first."""
    rows = (
        queryset.filter(confirmed_at__isnull=False)
        .order_by()
        .annotate(week=TruncWeek("confirmed_at"))
        .values("week")
        .annotate(n=Count("pk"))
        .order_by("week")
    )
    out, running = [], 0
    for row in rows:
        running += row["n"]
        out.append((row["week"].date(), row["n"], running))
    return out


def tag_names() -> list[str]:
    return list(Tagging.objects.order_by("name").values_list("name", flat=True).distinct())


def region_names() -> list[tuple[str, str]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT country_code, region FROM supporters_supporter"
            " WHERE region <> '' ORDER BY 1, 2"
        )
        return cursor.fetchall()
