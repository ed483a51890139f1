"""Local events: proposals, review, invitations in batches, RSVPs, reminders, attendance."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.gis.geos import Point
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from geo.timezones import timezone_at
from supporters.emails import absolute
from supporters.links import RSVP
from supporters.models import Supporter, TrustedHost
from supporters.nearby import selectors
from supporters.nearby.models import Activity, Event, Rsvp
from supporters.nearby.services.rules import NearbyError, activist_require
from supporters.outbox import message_queue, messages_compose, messages_queue
from supporters.ratelimit import ratelimit_hit
from supporters.sms.services import quiet_until, reached_by_text, text_compose, texts_queue


@dataclass(frozen=True)
class EventDraft:
    title: str
    description: str
    starts_at: datetime  # aware
    ends_at: datetime
    venue_name: str
    venue: Point
    radius_km: int
    timezone: str = ""  # the venue's IANA zone; found from `venue` when empty
    group: object = None  # a LocalGroup the host leads
    invite_nearby: bool = True  # for a group's event: also supporters within the radius


@transaction.atomic
def event_propose(*, host: Supporter, draft: EventDraft) -> Event:
    """An activist proposes an event; organizers approve it unless approval is off or they
    have marked the host a trusted host (supporters/groups/)."""
    activist_require(host)
    ratelimit_hit(
        scope="event_propose",
        key=str(host.pk),
        limit=settings.SOSEDI_EVENT_PROPOSALS_PER_WEEK,
        window=timedelta(days=7),
        message=_("You have proposed %(n)s events this week, the most we allow.")
        % {"n": settings.SOSEDI_EVENT_PROPOSALS_PER_WEEK},
    )
    if draft.group is not None:
        from supporters.groups.selectors import membership_of

        membership = membership_of(group=draft.group, supporter=host)
        if not draft.group.is_open or membership is None or not membership.leads:
            raise NearbyError(_("Only the leaders of an approved group hold its events."))
    event = Event(
        host=host, **(vars(draft) | {"timezone": draft.timezone or timezone_at(draft.venue)})
    )
    event.full_clean()
    event.save()
    Rsvp.objects.create(
        event=event, supporter=host, answer=Rsvp.Answer.YES, answered_at=timezone.now()
    )
    if (
        not settings.SOSEDI_EVENTS_REQUIRE_APPROVAL
        or TrustedHost.objects.filter(supporter=host).exists()
    ):
        event = event_review(event=event, approve=True, reviewer=None)
    return event


@transaction.atomic
def event_review(*, event: Event, approve: bool, reviewer) -> Event:
    """Approve (invitations go out from the worker) or reject a pending event."""
    from supporters.nearby.tasks import send_event_invitations

    event = Event.objects.select_for_update().select_related("host").get(pk=event.pk)
    if event.status != Event.Status.PENDING:
        return event
    event.status = Event.Status.APPROVED if approve else Event.Status.REJECTED
    event.reviewed_at = timezone.now()
    event.reviewed_by = reviewer
    event.save(update_fields=["status", "reviewed_at", "reviewed_by"])
    message_queue(
        supporter=event.host,
        kind="nearby_event_reviewed",
        template="nearby/event_reviewed",
        context={"event": event, "approved": approve, "url": _event_url(event)},
    )
    if approve:
        send_event_invitations.defer(event_id=str(event.pk))
    return event


def _event_url(event: Event) -> str:
    return absolute(reverse("events:detail", args=[event.pk]))


def _rsvp_url(rsvp: Rsvp) -> str:
    return absolute(reverse("events:rsvp", args=[RSVP.make(rsvp.pk)]))


def event_invitations_send(*, event: Event) -> int:
    """Invite everyone `selectors.event_invitees` finds, batch by batch; returns how many.

    The area is searched once for who it holds; each batch then checks the next of them
    against the whole selector, by id (a batch searching the area again cost a scan of
    everyone in it), and a last search finds whoever became an invitee meanwhile."""
    batch = settings.SOSEDI_MAILING_BATCH
    found = list(selectors.event_invitees(event=event).order_by("pk").values_list("pk", flat=True))
    invited = 0
    for start in range(0, len(found), batch):
        invited += event_invitations_prepare_batch(
            event_id=event.pk, batch=batch, among=found[start : start + batch]
        )
    while n := event_invitations_prepare_batch(event_id=event.pk, batch=batch):
        invited += n
    return invited


def event_invitations_prepare_batch(*, event_id, batch: int, among: list | None = None) -> int:
    """Invite the next `batch` people to an approved event, of those with their id in
    `among` if given; returns how many (0 when done).

    As mailing_prepare_batch does: one transaction writes the RSVP rows, the outbox
    messages and their delivery jobs, so a worker killed mid-batch leaves none of them and
    the next run invites the same people; people with an RSVP are not invitees any more.
    People whose channel is texts (reached_by_text) get a text instead of the mail, in the
    same transaction, held until the quiet hours end in the event's zone.
    """
    with transaction.atomic():
        event = Event.objects.select_for_update().get(pk=event_id)
        if event.status != Event.Status.APPROVED or event.ends_at <= timezone.now():
            return 0
        # Serialised, so that two events cannot both take someone's last invitation of the
        # week (held for one batch, not for the whole guest list).
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext('sosedi:invitations'))")
        invitees = selectors.event_invitees(event=event)
        if among is not None:
            invitees = invitees.filter(pk__in=among)
        people = list(invitees.order_by("pk")[:batch])
        now = timezone.now()
        if not people:
            if among is None and event.invitations_sent_at is None:
                event.invitations_sent_at = now
                event.save(update_fields=["invitations_sent_at"])
            return 0
        rsvps = Rsvp.objects.bulk_create(
            Rsvp(event=event, supporter=p, invited_at=now) for p in people
        )
        shared = {"event": event, "event_url": _event_url(event)}
        mails, texts = [], []
        held = quiet_until(event.timezone, now=now)  # the guests live near the venue
        for rsvp in rsvps:
            own = {"url": _rsvp_url(rsvp)}
            if reached_by_text(rsvp.supporter):
                texts.append(
                    text_compose(
                        supporter=rsvp.supporter,
                        kind="nearby_event_invitation",
                        template="nearby/event_invitation",
                        context={**shared, **own},
                        not_before=held,
                    )
                )
            else:
                mails.append((rsvp.supporter, own))
        messages_queue(
            messages_compose(
                people=mails,
                kind="nearby_event_invitation",
                template="nearby/event_invitation",
                context=shared,
            )
        )
        texts_queue(texts)
    return len(people)


@transaction.atomic
def rsvp_answer(*, event: Event, supporter: Supporter, answer: str) -> Rsvp:
    """Yes, maybe or no, from the invitation's link or the event page (changeable)."""
    if event.status != Event.Status.APPROVED or event.ends_at <= timezone.now():
        raise NearbyError(_("This event is not taking answers any more."))
    if supporter.status != Supporter.Status.ACTIVE:
        raise NearbyError(_("Only active supporters can answer."))
    rsvp, _created = Rsvp.objects.select_for_update().get_or_create(
        event=event, supporter=supporter
    )
    rsvp.answer = Rsvp.Answer(answer)
    rsvp.answered_at = timezone.now()
    rsvp.save(update_fields=["answer", "answered_at"])
    return rsvp


def event_reminders_send(*, now: datetime | None = None) -> int:
    """The day before: everyone who said yes or maybe gets a reminder, once (a text for
    those whose channel is texts)."""
    now = now or timezone.now()
    sent = 0
    due = Event.objects.filter(
        status=Event.Status.APPROVED,
        reminders_sent_at__isnull=True,
        starts_at__gt=now,
        starts_at__lte=now + timedelta(days=1),
    )
    for event_id in due.values_list("pk", flat=True):
        sent += _event_remind(event_id=event_id, now=now)
    return sent


@transaction.atomic
def _event_remind(*, event_id, now: datetime) -> int:
    event = Event.objects.select_for_update(skip_locked=True).filter(pk=event_id).first()
    if event is None or event.reminders_sent_at is not None:
        return 0
    guests = event.rsvps.filter(
        answer__in=[Rsvp.Answer.YES, Rsvp.Answer.MAYBE], reminded_at__isnull=True
    ).select_related("supporter")
    sent = 0
    # Texts wait for the quiet hours to end, unless that is after the start: a reminder
    # late in the evening is better than one after the event.
    held = quiet_until(event.timezone, now=now)
    held = held if held is not None and held < event.starts_at else None
    for rsvp in guests:
        if rsvp.supporter.status != Supporter.Status.ACTIVE:
            continue
        context = {"event": event, "url": _rsvp_url(rsvp), "event_url": _event_url(event)}
        if reached_by_text(rsvp.supporter):
            texts_queue(
                [
                    text_compose(
                        supporter=rsvp.supporter,
                        kind="nearby_event_reminder",
                        template="nearby/event_reminder",
                        context=context,
                        not_before=held,
                    )
                ]
            )
        else:
            message_queue(
                supporter=rsvp.supporter,
                kind="nearby_event_reminder",
                template="nearby/event_reminder",
                context=context,
            )
        rsvp.reminded_at = now
        rsvp.save(update_fields=["reminded_at"])
        sent += 1
    event.reminders_sent_at = now
    event.save(update_fields=["reminders_sent_at"])
    return sent


@transaction.atomic
def event_attendance_record(*, event: Event, attended_ids: set) -> int:
    """The host ticks who came, after the start; it lands in each one's activity history."""
    if event.starts_at > timezone.now():
        raise NearbyError(_("You can record who came once the event has started."))
    if event.status != Event.Status.APPROVED:
        raise NearbyError(_("Only approved events have attendance."))
    guests = list(selectors.event_guests_for_attendance(event=event))
    came = {str(pk) for pk in attended_ids}
    for rsvp in guests:
        rsvp.attended = str(rsvp.supporter_id) in came
        rsvp.save(update_fields=["attended"])
    Activity.objects.filter(event=event, kind=Activity.Kind.EVENT_ATTENDED).delete()
    Activity.objects.bulk_create(
        Activity(
            supporter_id=rsvp.supporter_id,
            kind=Activity.Kind.EVENT_ATTENDED,
            event=event,
            occurred_at=event.starts_at,
        )
        for rsvp in guests
        if rsvp.attended and rsvp.supporter_id != event.host_id
    )
    Activity.objects.get_or_create(
        supporter_id=event.host_id,
        kind=Activity.Kind.EVENT_HOSTED,
        event=event,
        defaults={"occurred_at": event.starts_at},
    )
    return sum(1 for r in guests if r.attended)
