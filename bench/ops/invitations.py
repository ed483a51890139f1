"""Event and group invitations to 10,000+ neighbours, prepared as the worker does, against
one row, one rendered mail and one job saved a person at a time."""

import time
from datetime import timedelta

from bench.ops.common import Ctx, row

MOSCOW = (37.62, 55.75)
RADIUS_KM = 8  # the smallest whole radius around the centre with ≥ 10,000 invitees
TARGET = 10_000
SAMPLE = 500
BENCH_KINDS = ("nearby_event_invitation", "group_invitation")


def jobs_mark() -> int:
    """The last procrastinate job's id now: what an operation writes comes after it."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(max(id), 0) FROM procrastinate_jobs")
        return cursor.fetchone()[0]


def jobs_delete_after(mark: int) -> int:
    """Delete the jobs written since `mark` (their events go by cascade)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM procrastinate_jobs WHERE id > %s", [mark])
        return cursor.rowcount


def bench_host(*, email: str, location):
    """A leader / host of the benchmark's own (not one of the N people, never invited)."""
    from django.utils import timezone

    from supporters.models import Supporter

    host, _ = Supporter.objects.get_or_create(
        email=email,
        defaults=dict(
            display_name="Bench Host",
            language="ru",
            status=Supporter.Status.ACTIVE,
            confirmed_at=timezone.now(),
            cell=0,
            location=location,
            location_precision="street",
            location_source="bench",
            consent_introductions=True,
            consent_event_invitations=True,
        ),
    )
    return host


def _cleanup(*, mark: int, event=None, group=None) -> None:
    from supporters.groups.models import GroupInvitation
    from supporters.models import OutboxMessage
    from supporters.nearby.models import Rsvp
    from supporters.sms.models import TextMessage

    if event is not None:
        Rsvp.objects.filter(event=event).delete()
        type(event).objects.filter(pk=event.pk).update(invitations_sent_at=None)
    if group is not None:
        GroupInvitation.objects.filter(group=group).delete()
        type(group).objects.filter(pk=group.pk).update(invitations_sent_at=None)
    OutboxMessage.objects.filter(kind__in=BENCH_KINDS).delete()
    TextMessage.objects.filter(kind__in=BENCH_KINDS).delete()
    jobs_delete_after(mark)


def _naive(people, write_one) -> tuple[float, int]:
    """Seconds per person of `write_one`, each in its own transaction (autocommit)."""
    started = time.perf_counter()
    for person in people:
        write_one(person)
    return (time.perf_counter() - started) / len(people), len(people)


def run(ctx: Ctx) -> list[dict]:
    from django.contrib.gis.geos import Point
    from django.urls import reverse
    from django.utils import timezone

    from bench.measure import Timing, repeat
    from geo import areas
    from supporters import links
    from supporters.emails import absolute
    from supporters.groups import selectors as group_selectors
    from supporters.groups.invitations import group_invitations_send
    from supporters.groups.models import GroupInvitation, GroupMembership, LocalGroup
    from supporters.nearby import selectors as event_selectors
    from supporters.nearby.models import Event, Rsvp
    from supporters.nearby.services.events import (
        _event_url,
        _rsvp_url,
        event_invitations_send,
    )
    from supporters.outbox import message_compose
    from supporters.tasks import deliver_message

    centre = Point(*MOSCOW, srid=4326)
    host = bench_host(email="host@invitations.bench.invalid", location=centre)
    now = timezone.now()
    event = Event.objects.create(
        host=host,
        title="Субботник во дворе",
        description="Убираем двор вместе, потом чай.",
        starts_at=now + timedelta(days=10),
        ends_at=now + timedelta(days=10, hours=2),
        venue_name="Двор на Покровке",
        venue=centre,
        radius_km=RADIUS_KM,
        timezone="Europe/Moscow",
        status=Event.Status.APPROVED,
    )
    group = LocalGroup.objects.create(
        name="Соседи Центра",
        description="Местная группа сторонников в центре Москвы.",
        language="ru",
        area_kind=LocalGroup.AreaKind.CIRCLE,
        area_name="Москва",
        area=areas.circle(centre, RADIUS_KM),
        centre=centre,
        radius_km=RADIUS_KM,
        founder=host,
        status=LocalGroup.Status.APPROVED,
    )
    GroupMembership.objects.create(
        group=group, supporter=host, role=GroupMembership.Role.LEADER, shares_contact=True
    )
    reverse("groups:list")  # the URLconf loaded, as in a worker that has run a job before
    mark = jobs_mark()
    counts = {}
    # Each call first removes what the one before wrote (some 11,000 rows of each kind);
    # that clean-up is timed on its own and taken off the call's sample.
    cleanups: dict[str, list[float]] = {"event": [], "group": []}

    def cleaned(key: str, **what) -> None:
        started = time.perf_counter()
        _cleanup(mark=mark, **what)
        cleanups[key].append(time.perf_counter() - started)

    def events_call():
        cleaned("event", event=event)
        counts["event"] = event_invitations_send(event=event)

    def groups_call():
        cleaned("group", group=group)
        counts["group"] = group_invitations_send(group_id=group.pk)

    def less_cleanups(timing: Timing, key: str) -> Timing:
        return Timing([s - c for s, c in zip(timing.samples, cleanups[key], strict=True)])

    try:
        repeats = ctx.scaled(1, 3)
        events_t = less_cleanups(repeat(events_call, repeats=repeats, warmup=0), "event")
        groups_t = less_cleanups(repeat(groups_call, repeats=repeats, warmup=0), "group")
        _cleanup(mark=mark, event=event, group=group)

        # Baselines: per invitee, one row saved, one mail rendered and saved, one job.
        people = list(event_selectors.event_invitees(event=event).order_by("pk")[:SAMPLE])

        def naive_event(person):
            rsvp = Rsvp(event=event, supporter=person, invited_at=timezone.now())
            rsvp.save()
            context = {"event": event, "url": _rsvp_url(rsvp), "event_url": _event_url(event)}
            message = message_compose(
                supporter=person,
                kind=BENCH_KINDS[0],
                template="nearby/event_invitation",
                context=context,
            )
            message.save()
            deliver_message.defer(message_id=message.pk)

        per_event, sampled = _naive(people, naive_event)
        _cleanup(mark=mark, event=event)
        people = list(group_selectors.group_invitees(group=group).order_by("pk")[:SAMPLE])

        def naive_group(person):
            invitation = GroupInvitation(group=group, supporter=person)
            invitation.save()
            url = absolute(
                reverse("groups:invitation", args=[links.GROUP_INVITATION.make(invitation.pk)])
            )
            message = message_compose(
                supporter=person,
                kind=BENCH_KINDS[1],
                template="groups/invitation",
                context={"group": group, "url": url},
            )
            message.save()
            deliver_message.defer(message_id=message.pk)

        per_group, _ = _naive(people, naive_group)
        _cleanup(mark=mark, group=group)
    finally:
        _cleanup(mark=mark, event=event, group=group)
        event.delete()
        group.delete()
        host.delete()

    def the_row(key, what, ours, per_person, invited):
        naive = Timing([per_person * TARGET], extrapolated=True)
        per_10k = ours.median * TARGET / invited if invited else None
        return row(
            key,
            f"{what} invitations to {invited:,} neighbours prepared",
            ours=ours,
            baselines=[("one row + one mail + one job a person, extrapolated", naive)],
            target=f"≤ 10 s for {invited:,} (≥ {TARGET:,})",
            met=ours.median <= 10 and invited >= TARGET,
            notes=[
                f"everyone within {RADIUS_KM} km of central Moscow who accepts invitations: "
                f"{invited:,} rows, mails and delivery jobs in committed batches "
                f"({invited / ours.median:,.0f} a second; {per_10k:.1f} s per 10,000); the "
                "invitee selector has no cap beyond the weekly limit",
                f"baseline: {sampled} people one at a time, each in its own transaction, "
                f"extrapolated to {TARGET:,}; the baseline's ratio compares it with "
                f"{invited:,} of ours",
                "each sample is the whole preparation (what the worker's task does), "
                "without the clean-up of the sample before",
            ],
        )

    return [
        the_row("invitations_event", "event", events_t, per_event, counts["event"]),
        the_row("invitations_group", "group", groups_t, per_group, counts["group"]),
    ]
