"""Introductions: requests, answers, blocks, reports and the moderators' decision on them."""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from geo import bands
from supporters.emails import absolute
from supporters.links import INTRODUCTION
from supporters.models import Supporter
from supporters.nearby import selectors
from supporters.nearby.models import Block, Introduction, IntroductionRequest, NearbyBan, Report
from supporters.nearby.services.rules import NearbyError, activist_require, holds_refuse
from supporters.outbox import message_queue
from supporters.ratelimit import ratelimit_hit


@transaction.atomic
def introduction_request(
    *,
    requester: Supporter,
    message: str,
    count: int,
    farthest: bands.Band = bands.Band.FROM_10_TO_25,
) -> IntroductionRequest:
    """Ask up to `count` (≤ 5) of the nearest activists within `farthest` to be
    introduced; each gets an email with the requester's first name, the band and the
    message. Limited per week (RateLimited). The request is made whether or not anyone
    is there to ask: what the requester learns never depends on how many others are."""
    activist_require(requester)
    holds_refuse(requester)
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
    # Nobody near, or everyone near has had their share of requests this week: the
    # request is made all the same, for nobody, and the asker reads what they would have
    # read otherwise (the answer must not tell an empty area from one lone activist).
    chosen = selectors.introduction_candidates(requester=requester, limit=count, farthest=farthest)
    now = timezone.now()
    request = IntroductionRequest.objects.create(
        requester=requester,
        message=message,
        asked_for=count,
        farthest=farthest,
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
