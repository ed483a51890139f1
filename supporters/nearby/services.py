"""Writes of nearby introductions and events: sign-in, requests, answers, events, RSVPs."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.gis.geos import Point
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from geo import bands
from geo.timezones import timezone_at
from supporters.emails import absolute
from supporters.links import INTRODUCTION, RSVP, SIGN_IN, LinkError
from supporters.models import Supporter
from supporters.nearby import selectors
from supporters.nearby.models import (
    Activity,
    Block,
    Event,
    Introduction,
    IntroductionRequest,
    NearbyBan,
    Report,
    Rsvp,
    SignInLink,
)
from supporters.ratelimit import RateLimited, ratelimit_hit
from supporters.services import message_compose, message_queue, messages_queue


class NearbyError(Exception):
    """A request the app refuses for a reason the person can act on (shown with a 400)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


# --- sign-in ------------------------------------------------------------------------------


@transaction.atomic
def sign_in_link_send(*, email: str) -> None:
    """Mail a one-time sign-in link if the address belongs to an active supporter; silent
    otherwise, so the page shown is the same either way. Limited per address per hour."""
    supporter = Supporter.objects.filter(
        email__iexact=email.strip(), status=Supporter.Status.ACTIVE
    ).first()
    if supporter is None:
        return
    ratelimit_hit(
        scope="nearby_sign_in",
        key=str(supporter.pk),
        limit=settings.SOSEDI_NEARBY_SIGN_INS_PER_HOUR,
        window=timedelta(hours=1),
        message=_("We have sent you several sign-in links in the last hour. Use the newest one."),
    )
    link = SignInLink.objects.create(supporter=supporter)
    message_queue(
        supporter=supporter,
        kind="nearby_sign_in",
        template="nearby/sign_in",
        context={
            "url": absolute(reverse("nearby:sign_in", args=[SIGN_IN.make(link.pk)])),
            "minutes": settings.SOSEDI_NEARBY_SIGN_IN_LINK_MINUTES,
        },
    )


@transaction.atomic
def sign_in_link_use(*, token: str) -> Supporter:
    """The active supporter a sign-in link is for; the link works once (LinkError after)."""
    link_id = SIGN_IN.read(token)
    used = SignInLink.objects.filter(
        pk=link_id, used_at__isnull=True, supporter__status=Supporter.Status.ACTIVE
    ).update(used_at=timezone.now())
    if used != 1:
        raise LinkError(expired=False)
    # Older unused links of the same person stop working too: one live session path.
    link = SignInLink.objects.select_related("supporter").get(pk=link_id)
    SignInLink.objects.filter(supporter=link.supporter, used_at__isnull=True).update(
        used_at=timezone.now()
    )
    return link.supporter


def sign_in_links_prune() -> int:
    """Forget sign-in links once they can no longer be used."""
    old = timezone.now() - timedelta(minutes=settings.SOSEDI_NEARBY_SIGN_IN_LINK_MINUTES + 60)
    deleted, _ = SignInLink.objects.filter(created_at__lt=old).delete()
    return deleted


# --- introductions ------------------------------------------------------------------------


def _require_activist(supporter: Supporter) -> None:
    if supporter.status != Supporter.Status.ACTIVE:
        raise NearbyError(_("Only active supporters can do this."))
    if selectors.is_banned(supporter=supporter):
        raise NearbyError(
            _("The organizers have closed introductions and events for your account.")
        )


@transaction.atomic
def introduction_request(
    *,
    requester: Supporter,
    message: str,
    count: int,
    farthest: bands.Band = bands.Band.FROM_10_TO_25,
) -> IntroductionRequest:
    """Ask up to `count` (≤ 5) nearby activists to be introduced; each gets an email with
    the requester's first name, the band and the message. Limited per week; RateLimited
    when the requester is over it or everyone nearby has had enough requests this week."""
    _require_activist(requester)
    if not requester.consent_introductions:
        raise NearbyError(_("Allow introductions on your data page first: they work both ways."))
    message = message.strip()
    if not message:
        raise NearbyError(_("Write a short message to the people you ask."))
    count = max(1, min(count, settings.SOSEDI_INTRODUCTION_MAX_CANDIDATES))
    ratelimit_hit(
        scope="introduction_request",
        key=str(requester.pk),
        limit=settings.SOSEDI_INTRODUCTION_REQUESTS_PER_WEEK,
        window=timedelta(days=7),
        message=_(
            "You have asked for %(n)s introductions this week, the most we allow. "
            "Try again next week."
        )
        % {"n": settings.SOSEDI_INTRODUCTION_REQUESTS_PER_WEEK},
    )
    # One request at a time picks candidates, so two cannot both take someone's last
    # introduction email of the week.
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext('sosedi:introductions'))")
    chosen = selectors.introduction_candidates(requester=requester, limit=count, farthest=farthest)
    if not chosen:
        anyone = selectors.activist_band_counts(supporter=requester).counts
        reach = bands.BAND_EDGES_M[farthest][1]
        if any(n for b, n in anyone.items() if bands.BAND_EDGES_M[b][1] <= reach):
            # Rolls back the request counted above as well.
            raise RateLimited(
                _(
                    "The activists near you have had as many introduction requests as they "
                    "receive in a week. Try again in a few days."
                )
            )
        raise NearbyError(_("Nobody open to introductions lives that close to you yet."))
    now = timezone.now()
    request = IntroductionRequest.objects.create(
        requester=requester,
        message=message,
        created_at=now,
        expires_at=now + timedelta(days=settings.SOSEDI_INTRODUCTION_EXPIRY_DAYS),
    )
    candidates = Supporter.objects.in_bulk([c.pk for c in chosen])
    for c in chosen:
        intro = Introduction.objects.create(request=request, candidate_id=c.pk, band=c.band)
        message_queue(
            supporter=candidates[c.pk],
            discloses=requester,
            kind="nearby_introduction_request",
            template="nearby/introduction_request",
            context={
                "first_name": requester.first_name,
                "band": bands.Band(c.band).label,
                "message": message,
                "days": settings.SOSEDI_INTRODUCTION_EXPIRY_DAYS,
                "url": _answer_url(intro),
            },
        )
    return request


def _answer_url(intro: Introduction) -> str:
    return absolute(reverse("nearby:introduction", args=[INTRODUCTION.make(intro.pk)]))


def _locked_pending(introduction: Introduction) -> Introduction | None:
    intro = (
        Introduction.objects.select_for_update()
        .select_related("request__requester", "candidate")
        .get(pk=introduction.pk)
    )
    if intro.status != Introduction.Status.PENDING:
        return None
    # A requester who has left the list since is not introduced to anyone any more.
    gone = intro.request.requester.status != Supporter.Status.ACTIVE
    if gone or intro.request.expires_at <= timezone.now():
        intro.status = Introduction.Status.EXPIRED
        intro.save(update_fields=["status"])
        return None
    return intro


@transaction.atomic
def introduction_accept(*, introduction: Introduction) -> bool:
    """The candidate says yes: both now receive each other's name and email. Returns
    False if the introduction was no longer waiting (answered or expired)."""
    intro = _locked_pending(introduction)
    if intro is None:
        return False
    intro.status = Introduction.Status.ACCEPTED
    intro.answered_at = timezone.now()
    intro.save(update_fields=["status", "answered_at"])
    requester, candidate = intro.request.requester, intro.candidate
    for me, other in ((requester, candidate), (candidate, requester)):
        message_queue(
            supporter=me,
            discloses=other,
            kind="nearby_introduced",
            template="nearby/introduced",
            context={
                "other_name": other.display_name,
                "other_email": other.email,
                "i_asked": me == requester,
                "message": intro.request.message,
            },
        )
    return True


@transaction.atomic
def introduction_decline(*, introduction: Introduction) -> bool:
    """The candidate says no. The requester is not told who; they are never asked again."""
    intro = _locked_pending(introduction)
    if intro is None:
        return False
    intro.status = Introduction.Status.DECLINED
    intro.answered_at = timezone.now()
    intro.save(update_fields=["status", "answered_at"])
    return True


@transaction.atomic
def requester_block(*, introduction: Introduction) -> Block:
    """The candidate blocks the requester: declined if still waiting, and never again."""
    introduction_decline(introduction=introduction)
    intro = Introduction.objects.select_related("request").get(pk=introduction.pk)
    block, _created = Block.objects.get_or_create(
        blocker_id=intro.candidate_id, blocked_id=intro.request.requester_id
    )
    return block


@transaction.atomic
def introduction_report(*, introduction: Introduction, note: str) -> Report:
    """Report the message to the moderators; reporting also blocks the sender."""
    requester_block(introduction=introduction)
    intro = Introduction.objects.select_related("request").get(pk=introduction.pk)
    report, _created = Report.objects.get_or_create(
        introduction=intro,
        reporter_id=intro.candidate_id,
        defaults={"reported_id": intro.request.requester_id, "note": note.strip()[:1000]},
    )
    return report


def introductions_expire(*, now: datetime | None = None) -> int:
    """Requests older than the expiry: their unanswered introductions expire."""
    now = now or timezone.now()
    return Introduction.objects.filter(
        status=Introduction.Status.PENDING, request__expires_at__lte=now
    ).update(status=Introduction.Status.EXPIRED)


@transaction.atomic
def report_review(*, report: Report, uphold: bool, reviewer) -> Report:
    """A moderator's decision; upholding bars the sender from introductions and events."""
    report = Report.objects.select_for_update().get(pk=report.pk)
    report.status = Report.Status.UPHELD if uphold else Report.Status.DISMISSED
    report.reviewed_at = timezone.now()
    report.reviewed_by = reviewer
    report.save(update_fields=["status", "reviewed_at", "reviewed_by"])
    if uphold:
        NearbyBan.objects.get_or_create(
            supporter_id=report.reported_id, defaults={"reason": f"report {report.pk}"}
        )
        Introduction.objects.filter(
            request__requester_id=report.reported_id, status=Introduction.Status.PENDING
        ).update(status=Introduction.Status.EXPIRED)
    return report


# --- events -------------------------------------------------------------------------------


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


@transaction.atomic
def event_propose(*, host: Supporter, draft: EventDraft) -> Event:
    """An activist proposes an event; organizers approve it unless approval is off."""
    _require_activist(host)
    ratelimit_hit(
        scope="event_propose",
        key=str(host.pk),
        limit=settings.SOSEDI_EVENT_PROPOSALS_PER_WEEK,
        window=timedelta(days=7),
        message=_("You have proposed %(n)s events this week, the most we allow.")
        % {"n": settings.SOSEDI_EVENT_PROPOSALS_PER_WEEK},
    )
    event = Event(
        host=host, **(vars(draft) | {"timezone": draft.timezone or timezone_at(draft.venue)})
    )
    event.full_clean()
    event.save()
    Rsvp.objects.create(
        event=event, supporter=host, answer=Rsvp.Answer.YES, answered_at=timezone.now()
    )
    if not settings.SOSEDI_EVENTS_REQUIRE_APPROVAL:
        event_review(event=event, approve=True, reviewer=None)
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
    """Invite everyone `selectors.invitees_for` finds, batch by batch; returns how many."""
    invited = 0
    while n := event_invitations_prepare_batch(
        event_id=event.pk, batch=settings.SOSEDI_MAILING_BATCH
    ):
        invited += n
    return invited


def event_invitations_prepare_batch(*, event_id, batch: int) -> int:
    """Invite the next `batch` people to an approved event; returns how many (0 when done).

    As mailing_prepare_batch does: one transaction writes the RSVP rows, the outbox
    messages and their delivery jobs, so a worker killed mid-batch leaves none of them and
    the next run invites the same people; people with an RSVP are not invitees any more.
    """
    with transaction.atomic():
        event = Event.objects.select_for_update().get(pk=event_id)
        if event.status != Event.Status.APPROVED or event.ends_at <= timezone.now():
            return 0
        # Serialised, so that two events cannot both take someone's last invitation of the
        # week (held for one batch, not for the whole guest list).
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext('sosedi:invitations'))")
        people = list(selectors.invitees_for(event=event).order_by("pk")[:batch])
        now = timezone.now()
        if not people:
            if event.invitations_sent_at is None:
                event.invitations_sent_at = now
                event.save(update_fields=["invitations_sent_at"])
            return 0
        rsvps = Rsvp.objects.bulk_create(
            Rsvp(event=event, supporter=p, invited_at=now) for p in people
        )
        event_url = _event_url(event)
        messages_queue(
            message_compose(
                supporter=rsvp.supporter,
                kind="nearby_event_invitation",
                template="nearby/event_invitation",
                context={"event": event, "url": _rsvp_url(rsvp), "event_url": event_url},
            )
            for rsvp in rsvps
        )
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
    """The day before: everyone who said yes or maybe gets a reminder, once."""
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
    for rsvp in guests:
        if rsvp.supporter.status != Supporter.Status.ACTIVE:
            continue
        message_queue(
            supporter=rsvp.supporter,
            kind="nearby_event_reminder",
            template="nearby/event_reminder",
            context={"event": event, "url": _rsvp_url(rsvp), "event_url": _event_url(event)},
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
