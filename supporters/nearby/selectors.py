"""Reads of nearby introductions and events."""

import uuid
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.gis.measure import D
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.utils import timezone

from geo import bands
from geo.geojson import feature_collection
from supporters.models import Supporter
from supporters.nearby import holds
from supporters.nearby.models import (
    Activity,
    Block,
    Event,
    Introduction,
    IntroductionRequest,
    NearbyBan,
    Report,
    Rsvp,
)


def activists_open_to_introductions() -> QuerySet[Supporter]:
    """Active supporters with the introductions consent: the rows the partial GiST index
    `supporter_intro_location` holds (migration 0004 of nearby)."""
    return Supporter.objects.filter(status=Supporter.Status.ACTIVE, consent_introductions=True)


def activist_band_counts(*, supporter: Supporter) -> bands.BandCounts:
    """How many activists open to introductions live in each band around the supporter's
    cell. It depends on the supporter's cell and the others' cells, and on nothing else
    (not even on blocks), so every account in one cell reads the same numbers. Only
    activists settled at their home are counted (holds.settled)."""
    others = holds.settled(activists_open_to_introductions()).exclude(pk=supporter.pk)
    return bands.band_counts(others, cell=supporter.cell)


def introduction_candidates(
    *, requester: Supporter, limit: int, farthest: bands.Band = bands.Band.FROM_10_TO_25
) -> list[bands.Nearby]:
    """Who a new request from `requester` would go to: activists open to introductions,
    nearest cells first and random among equals, leaving out anyone who blocked the
    requester, already declined them or is still to answer them, anyone already
    introduced, anyone who has had their weekly share of introduction emails, and anyone
    not settled at their home yet (holds.settled)."""
    week_ago = timezone.now() - timedelta(days=7)
    full_this_week = (
        Introduction.objects.filter(created_at__gte=week_ago)
        .values("candidate")
        .annotate(n=Count("id"))
        .filter(n__gte=settings.SOSEDI_INTRODUCTION_EMAILS_PER_WEEK)
        .values("candidate")
    )
    live = [Introduction.Status.PENDING, Introduction.Status.ACCEPTED]
    already = Introduction.objects.filter(
        Q(request__requester=requester, status__in=[*live, Introduction.Status.DECLINED])
    ).values("candidate")
    asked_me = Introduction.objects.filter(
        request__requester=OuterRef("pk"), candidate=requester, status__in=live
    )
    queryset = (
        holds.settled(activists_open_to_introductions())
        .exclude(pk=requester.pk)
        .exclude(Exists(Block.objects.filter(blocker=OuterRef("pk"), blocked=requester)))
        .exclude(Exists(NearbyBan.objects.filter(supporter=OuterRef("pk"))))
        .exclude(pk__in=already)
        .exclude(Exists(asked_me))
        .exclude(pk__in=full_this_week)
    )
    return bands.nearest(queryset, cell=requester.cell, limit=limit, farthest=farthest)


def supporter_is_banned(*, supporter: Supporter) -> bool:
    return NearbyBan.objects.filter(supporter=supporter).exists()


@dataclass(frozen=True)
class RequestSummary:
    request: IntroductionRequest
    accepted: list[Supporter]
    open: bool


def introduction_requests_of(*, supporter: Supporter) -> list[RequestSummary]:
    """The requester's own requests and who accepted. Nothing about the others (how many
    were asked, who declined, who has not answered yet) is shown."""
    summaries = []
    requests = supporter.introduction_requests.prefetch_related("introductions__candidate")[:20]
    for r in requests:
        intros = list(r.introductions.all())
        summaries.append(
            RequestSummary(
                request=r,
                accepted=[i.candidate for i in intros if i.status == Introduction.Status.ACCEPTED],
                open=r.expires_at > timezone.now(),
            )
        )
    return summaries


def introductions_accepted_by(*, supporter: Supporter) -> QuerySet[Introduction]:
    return Introduction.objects.filter(
        candidate=supporter, status=Introduction.Status.ACCEPTED
    ).select_related("request__requester")


def reports_open() -> QuerySet[Report]:
    return Report.objects.filter(status=Report.Status.OPEN).select_related(
        "introduction__request", "reporter", "reported"
    )


def events_pending() -> QuerySet[Event]:
    return Event.objects.filter(status=Event.Status.PENDING).select_related("host")


def moderation_waiting() -> int:
    """How many items the moderation queue holds: open reports, events to approve and
    areas whose new accounts are held."""
    return reports_open().count() + events_pending().count() + holds.crowded_area_count()


def events_upcoming() -> QuerySet[Event]:
    """Approved events that have not ended yet, soonest first (public)."""
    return Event.objects.filter(status=Event.Status.APPROVED, ends_at__gt=timezone.now()).order_by(
        "starts_at"
    )


# Stands for an event's id in the page URL events_upcoming_geojson is given.
EVENT_ID_PLACEHOLDER = uuid.UUID(int=0)


def _local_time_sql(column: str) -> str:
    """An instant as the local time at the venue with its offset, as isoformat() writes it
    (for whole seconds and whole-minute offsets: every zone's since 1972)."""
    local = f"(q.{column} AT TIME ZONE q.timezone)"
    offset = f"extract(epoch FROM {local} - (q.{column} AT TIME ZONE 'UTC'))::int"
    sign = f"CASE WHEN {offset} < 0 THEN '-' ELSE '+' END"
    hours_minutes = f"to_char(make_interval(secs => abs({offset})), 'HH24:MI')"
    return f"(to_json({local}) #>> '{{}}') || {sign} || {hours_minutes}"


def events_upcoming_geojson(*, url_template: str, limit: int = 500) -> str:
    """The public events layer: approved upcoming events as a GeoJSON FeatureCollection.

    The venue point (public by design) and what /events/ shows, nothing about hosts or
    guests; `url_template` is an event page's URL with EVENT_ID_PLACEHOLDER for its id.
    """
    fields = ("id", "title", "venue_name", "venue", "starts_at", "ends_at", "timezone")
    upcoming = events_upcoming()
    inner, params = upcoming.values(*fields)[:limit].query.sql_with_params()
    body, _ = feature_collection(
        source=(
            f"SELECT q.*, {_local_time_sql('starts_at')} AS starts_local,"
            f" {_local_time_sql('ends_at')} AS ends_local,"
            f" replace(%s, '{EVENT_ID_PLACEHOLDER}', q.id::text) AS url FROM ({inner}) q"
        ),
        params=[url_template, *params],
        feature_id="f.id",
        geometry="f.venue",
        properties={
            "title": "f.title",
            "venue": "f.venue_name",
            "starts_at": "f.starts_local",
            "ends_at": "f.ends_local",
            "timezone": "f.timezone",
            "url": "f.url",
        },
        order_by="f.starts_at",
        using=upcoming.db,
    )
    return body


def events_of(*, supporter: Supporter) -> QuerySet[Event]:
    return Event.objects.filter(host=supporter).order_by("-starts_at")


@dataclass(frozen=True)
class Turnout:
    yes: int
    maybe: int
    no: int
    invited: int | None  # bands.k_shown: None for "fewer than k"
    coming: list[str]


def event_turnout(*, event: Event) -> Turnout:
    """What the host sees: counts of answers (each guest gave theirs, and the RSVP page
    says the host sees them), the first names of those coming, and how many were invited:
    people within the radius who have said nothing, so only those settled at their home
    are counted, and below SOSEDI_NEARBY_K it says only "fewer than k"."""
    counts = event.rsvps.aggregate(
        yes=Count("id", filter=Q(answer=Rsvp.Answer.YES)),
        maybe=Count("id", filter=Q(answer=Rsvp.Answer.MAYBE)),
        no=Count("id", filter=Q(answer=Rsvp.Answer.NO)),
    )
    invited = event.rsvps.filter(
        invited_at__isnull=False, supporter__in=holds.settled(Supporter.objects.all())
    ).count()
    counts["invited"] = bands.k_shown(invited, k=settings.SOSEDI_NEARBY_K)
    names = event.rsvps.filter(answer=Rsvp.Answer.YES).select_related("supporter")
    return Turnout(**counts, coming=sorted(r.supporter.first_name for r in names))


def event_guests_for_attendance(*, event: Event) -> QuerySet[Rsvp]:
    """Who said yes or maybe: the list the host ticks after the event."""
    return (
        event.rsvps.filter(answer__in=[Rsvp.Answer.YES, Rsvp.Answer.MAYBE])
        .select_related("supporter")
        .order_by("supporter__display_name")
    )


def invitations_full_this_week() -> RawSQL:
    """The ids of supporters invited SOSEDI_EVENT_INVITATIONS_PER_WEEK times in the last 7
    days, to events and to local groups together (for `pk__in`)."""
    from supporters.groups.models import GroupInvitation

    week_ago = timezone.now() - timedelta(days=7)
    # Only the models' own table names are put in the text; every value is a parameter.
    return RawSQL(  # noqa: S611
        f"SELECT supporter_id FROM (SELECT supporter_id FROM {Rsvp._meta.db_table}"
        " WHERE invited_at >= %s UNION ALL SELECT supporter_id FROM"
        f" {GroupInvitation._meta.db_table} WHERE invited_at >= %s) AS invited"
        " GROUP BY supporter_id HAVING count(*) >= %s",
        [week_ago, week_ago, settings.SOSEDI_EVENT_INVITATIONS_PER_WEEK],
    )


def event_invitees(*, event: Event) -> QuerySet[Supporter]:
    """Supporters an approved event invites: active, with the event-invitations consent,
    whose cell centre lies within the radius of the venue (for a local group's event: its
    members, and those only if its leader asked), not the host, not invited to it yet, and
    under their weekly invitation limit."""
    nearby = Q(
        consent_event_invitations=True, location__dwithin=(event.venue, D(km=event.radius_km))
    )
    if event.group_id is not None:
        # Its members who accept event invitations; the others only if the leader asked.
        from supporters.groups.models import GroupMembership

        members = Q(
            Exists(
                GroupMembership.objects.filter(group_id=event.group_id, supporter=OuterRef("pk"))
            ),
            consent_event_invitations=True,
        )
        wanted = members | nearby if event.invite_nearby else members
    else:
        wanted = nearby
    return (
        Supporter.objects.filter(wanted, status=Supporter.Status.ACTIVE)
        .exclude(pk=event.host_id)
        # NOT IN, which PostgreSQL hashes once: a NOT EXISTS can be planned as a scan of the
        # event's guest list per person while the list is being written.
        .exclude(pk__in=Rsvp.objects.filter(event=event).values("supporter_id"))
        .exclude(pk__in=invitations_full_this_week())
    )


def supporter_activity(*, supporter: Supporter) -> QuerySet[Activity]:
    return Activity.objects.filter(supporter=supporter).select_related("event")


def supporters_attended_since(*, days: int = 90) -> QuerySet[Supporter]:
    """For organizers' filters: who attended an event in the last `days` days."""
    since = timezone.now() - timedelta(days=days)
    return Supporter.objects.filter(
        Exists(
            Activity.objects.filter(
                supporter=OuterRef("pk"),
                kind=Activity.Kind.EVENT_ATTENDED,
                occurred_at__gte=since,
            )
        )
    )


def activity_recent(*, days: int = 90) -> QuerySet[Activity]:
    since = timezone.now() - timedelta(days=days)
    return Activity.objects.filter(occurred_at__gte=since).select_related("supporter", "event")
