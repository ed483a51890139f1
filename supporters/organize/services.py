"""Writes of the organizer workspace: segments, mailings, one-click unsubscribe."""

from datetime import date

from django.conf import settings
from django.contrib.gis.geos import Point, Polygon
from django.db import transaction
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from supporters.links import UNSUBSCRIBE
from supporters.models import ConsentRecord, OutboxMessage, Purpose, Supporter
from supporters.organize.audit import Actor, audit_record
from supporters.organize.models import AuditEntry, Mailing, MailingRecipient, Segment
from supporters.organize.selectors import segment_members
from supporters.outbox import messages_queue
from supporters.services import consent_set


def unsubscribe_url(supporter_id) -> str:
    """A link that withdraws email-update consent; it never expires (old mail keeps working)."""
    path = reverse("organize:unsubscribe", args=[UNSUBSCRIBE.make(supporter_id)])
    return settings.SITE_URL + path


def supporter_updates_unsubscribe(*, supporter: Supporter) -> bool:
    """Withdraw email-update consent (one click from a mail); True if it changed."""
    return consent_set(
        supporter=supporter,
        purpose=Purpose.EMAIL_UPDATES,
        granted=False,
        source=ConsentRecord.Source.EMAIL_LINK,
    )


def segment_create(
    *,
    user,
    name: str,
    area: Polygon | None,
    centre: Point | None,
    radius_km: float | None,
    tags: list[str],
    purpose: str,
    country_code: str = "",
    region: str = "",
    joined_from: date | None = None,
    joined_to: date | None = None,
    group=None,
) -> Segment:
    segment = Segment(
        name=name.strip(),
        area=area,
        centre=centre,
        radius_km=radius_km if centre is not None else None,
        tags=tags,
        purpose=purpose,
        country_code=country_code,
        region=region,
        joined_from=joined_from,
        joined_to=joined_to,
        group=group,
        created_by=user,
    )
    segment.full_clean()
    segment.save()
    return segment


@transaction.atomic
def mailing_start(
    *,
    segment: Segment,
    subject: str,
    body: str,
    actor: Actor,
    topic: str = "",
    call_to_action: bool = False,
) -> Mailing:
    """Store the mail, its audit entry and the job that addresses it to the segment, batch
    by batch: all three or none."""
    from supporters.organize.tasks import mailing_prepare

    mailing = Mailing(
        segment=segment,
        subject=subject.strip(),
        body=body.strip(),
        topic=topic,
        call_to_action=call_to_action,
        created_by=actor.user,
    )
    mailing.recipients_total = _mailing_members(mailing).count()
    mailing.save()
    audit_record(
        actor=actor,
        action=AuditEntry.Action.MAILING,
        filter={
            **segment.describe(),
            "mailing": mailing.pk,
            "subject": mailing.subject,
            "topic": mailing.topic,
            "call_to_action": mailing.call_to_action,
        },
        row_count=mailing.recipients_total,
        detail=segment.name,
    )
    mailing_prepare.defer(mailing_id=mailing.pk)
    return mailing


def _mailing_members(mailing: Mailing):
    """Who the mailing is for now: the segment's members whom its topic and kind fit."""
    return segment_members(
        segment=mailing.segment,
        for_mailing=True,
        topic=mailing.topic,
        call_to_action=mailing.call_to_action,
    )


def _compose(mailing: Mailing, supporter: Supporter) -> OutboxMessage:
    link = unsubscribe_url(supporter.pk)
    with translation.override(supporter.language):
        footer = _(
            "You get this because you asked for email updates from us. To stop them, open: %(link)s"
        ) % {"link": link}
    body = mailing.body.replace("{name}", supporter.first_name or supporter.display_name)
    return OutboxMessage(
        supporter=supporter,
        kind=f"mailing:{mailing.pk}",
        to_email=supporter.email,
        subject=mailing.subject,
        body_text=f"{body}\n\n-- \n{footer}\n",
        headers={
            "List-Unsubscribe": f"<{link}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "Precedence": "bulk",
        },
    )


def mailing_prepare_batch(*, mailing_id: int, batch: int) -> int:
    """Address the next `batch` people of a mailing; returns how many (0 when done).

    One transaction writes the outbox messages, the send log rows and the delivery jobs
    together, so a worker killed mid-batch leaves none of them, and the next run picks the
    same people up again. The send log's unique (mailing, supporter) and the lock on the
    mailing row make a second concurrent run a no-op rather than a second copy.
    """
    with transaction.atomic():
        mailing = Mailing.objects.select_for_update().get(pk=mailing_id)
        people = list(
            _mailing_members(mailing)
            .exclude(pk__in=MailingRecipient.objects.filter(mailing=mailing).values("supporter"))
            .order_by("pk")[:batch]
        )
        if not people:
            if mailing.status == Mailing.Status.PREPARING:
                mailing.status = Mailing.Status.SENDING
                mailing.recipients_total = MailingRecipient.objects.filter(mailing=mailing).count()
                mailing.save(update_fields=["status", "recipients_total"])
            return 0
        messages = messages_queue([_compose(mailing, p) for p in people])
        MailingRecipient.objects.bulk_create(
            MailingRecipient(mailing=mailing, supporter=p, message=m)
            for p, m in zip(people, messages, strict=True)
        )
    return len(people)
