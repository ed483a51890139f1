"""Composing and queueing texts, and what delivery reports change."""

from collections.abc import Iterable
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation

from supporters.models import Channel, Supporter
from supporters.sms.gateways import Report
from supporters.sms.models import TextMessage
from supporters.sms.parts import text_parts

# Answers to a text the person sent (STOP, a sign-up, a survey): they go out whatever the
# consent and the hour, once per text received. Every other kind needs the consent.
REPLY_KINDS = frozenset(
    {
        "sms_stop_reply",
        "sms_join_confirm",
        "sms_join_known",
        "sms_join_where",
        "sms_welcome",
        "sms_survey_question",
        "sms_survey_again",
        "sms_survey_done",
    }
)


def reached_by_text(supporter: Supporter) -> bool:
    """Whether Sosedi's messages to this person go by text rather than email: they chose
    the phone as their channel and accept texts, at a number that can take them."""
    return (
        supporter.channel == Channel.PHONE
        and supporter.consent_text_messages
        and supporter.phone.startswith("+")
    )


def text_render(template: str, *, language: str, context: dict) -> str:
    """The body of templates/<folder>/sms/<name>.txt for `template` "<folder>/<name>"."""
    folder, name = template.split("/")
    with translation.override(language):
        text = render_to_string(f"{folder}/sms/{name}.txt", context)
    return " ".join(line.strip() for line in text.strip().splitlines() if line.strip())


def text_compose(
    *,
    supporter: Supporter | None,
    kind: str,
    body: str = "",
    template: str = "",
    context: dict | None = None,
    to_phone: str = "",
    language: str = "",
    not_before: datetime | None = None,
) -> TextMessage:
    """A text, not saved yet (texts_queue stores and queues it): `body` as given, or
    rendered from `template` in the recipient's language."""
    if template:
        language = language or (supporter.language if supporter else settings.LANGUAGE_CODE)
        body = text_render(
            template, language=language, context={"recipient": supporter, **(context or {})}
        )
    return TextMessage(
        supporter=supporter,
        kind=kind,
        to_phone=to_phone or supporter.phone,
        body=body,
        parts=text_parts(body).parts,
        not_before=not_before,
    )


def texts_queue(texts: Iterable[TextMessage]) -> list[TextMessage]:
    """Store composed texts and queue their delivery, in the caller's transaction (the job
    rows commit or roll back with the texts). A text held for quiet hours is queued for
    the hour they end."""
    from supporters.sms.tasks import deliver_text

    stored = TextMessage.objects.bulk_create(texts)
    by_hour: dict[datetime | None, list[dict]] = {}
    for t in stored:
        by_hour.setdefault(t.not_before, []).append({"text_id": t.pk})
    for hour, ids in by_hour.items():
        deferrer = deliver_text if hour is None else deliver_text.configure(schedule_at=hour)
        deferrer.batch_defer(*ids)
    return stored


def text_queue(**text) -> TextMessage:
    """Compose one text (text_compose's arguments), store it and queue its delivery."""
    (stored,) = texts_queue([text_compose(**text)])
    return stored


def quiet_until(zone: str, *, now: datetime) -> datetime | None:
    """When the quiet hours (SOSEDI_SMS_QUIET_HOURS, in `zone`) around `now` end, or None
    if it is not quiet there now."""
    if not settings.SOSEDI_SMS_QUIET_HOURS:
        return None
    start, end = settings.SOSEDI_SMS_QUIET_HOURS
    local = now.astimezone(ZoneInfo(zone))
    hour = local.hour
    quiet = (start <= hour or hour < end) if start > end else (start <= hour < end)
    if not quiet:
        return None
    day = local.date() if hour < end else local.date() + timedelta(days=1)
    return datetime.combine(day, time(end), tzinfo=local.tzinfo).astimezone(UTC)


@transaction.atomic
def texts_cancel(*, phone: str) -> int:
    """Cancel what is still queued to `phone` but answers (after STOP): no more texts."""
    return (
        TextMessage.objects.filter(to_phone=phone, status=TextMessage.Status.QUEUED)
        .exclude(kind__in=REPLY_KINDS)
        .update(status=TextMessage.Status.CANCELLED, last_error="cancelled: STOP received")
    )


ORDER = {
    TextMessage.Status.QUEUED: 0,
    TextMessage.Status.SENT: 1,
    TextMessage.Status.FAILED: 2,
    TextMessage.Status.DELIVERED: 3,
}


@transaction.atomic
def text_reports_apply(*, gateway: str, reports: Iterable[Report]) -> int:
    """Move texts on by the gateway's delivery reports; returns how many changed.

    A report finds its text by our reference or by the gateway's id. Reports come out of
    order and more than once: a text never moves back (a late "sent" after "delivered"
    changes nothing), and "delivered" wins over a "failed" for the same text. Any report
    shows the gateway has the text, so a sent text it never confirmed (a worker killed
    waiting for its answer) gets its sent_at then.
    """
    changed = 0
    now = timezone.now()
    for report in reports:
        found = TextMessage.objects.select_for_update().filter(gateway=gateway)
        pk = report.reference.removeprefix("sosedi-")
        if report.reference.startswith("sosedi-") and pk.isascii() and pk.isdigit():
            found = found.filter(pk=int(pk))
        elif report.gateway_id:
            found = found.filter(gateway_id=report.gateway_id)
        else:
            continue
        text = found.first()
        if text is None or text.status == TextMessage.Status.CANCELLED:
            continue
        new = TextMessage.Status(report.status)
        fields = []
        if text.sent_at is None:
            text.sent_at, fields = now, ["sent_at"]
        if ORDER[new] <= ORDER[text.status]:
            if fields:
                text.save(update_fields=fields)
            continue
        text.status = new
        fields.append("status")
        if new == TextMessage.Status.DELIVERED:
            text.delivered_at, fields = now, [*fields, "delivered_at"]
        if new == TextMessage.Status.FAILED:
            text.last_error = f"gateway: {report.error or 'not delivered'}"[:500]
            fields.append("last_error")
        if report.gateway_id and not text.gateway_id:
            text.gateway_id, fields = report.gateway_id[:100], [*fields, "gateway_id"]
        text.save(update_fields=fields)
        changed += 1
    return changed
