"""Texting a segment: who it reaches, what each text takes and costs, and its texts written
batch by batch (selectors and services of supporters/sms/texting_views.py)."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.db import transaction
from django.db.models import (
    Case,
    Count,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from geo.nearest import places_nearest
from geo.timezones import ANYWHERE_KM
from supporters.organize.audit import Actor, audit_record
from supporters.organize.models import AuditEntry, Segment
from supporters.organize.selectors import segment_members
from supporters.sms.models import Texting, TextMessage
from supporters.sms.parts import Parts, text_parts
from supporters.sms.services import quiet_until, texts_queue

# A number a text can reach, as supporters.phones stores it (anything else was typed
# before numbers were normalised, or is a landline kept as written).
E164 = r"^\+[1-9][0-9]{6,14}$"
# Texts that count against the weekly limit: those that went, or will go.
COUNTED = (TextMessage.Status.QUEUED, TextMessage.Status.SENT, TextMessage.Status.DELIVERED)
WEEK = timedelta(days=7)


class TextingRefused(Exception):
    """A texting that cannot start as asked; the message says what to change."""

    def __init__(self, message: str, *, recipients: int | None = None):
        super().__init__(message)
        self.recipients = recipients  # the count as it is now, when that was the reason


def texting_footer(*, language: str) -> str:
    """The line every segment text ends with, in the recipient's language."""
    with translation.override(language):
        return _("Reply STOP to stop these texts.")


def texting_text(*, body: str, language: str) -> str:
    """The text exactly as a recipient whose language is `language` gets it."""
    return f"{body}\n{texting_footer(language=language)}"


def texting_parts(*, body: str, language: str) -> Parts:
    """The parts of the text with its footer; an empty body takes none (nothing is sent)."""
    if not body:
        return Parts(text_parts("").encoding, 0, 0)
    return text_parts(texting_text(body=body, language=language))


def texting_refusal(*, body: str) -> str:
    """Why `body` cannot be sent ("" if it can): longer than SOSEDI_SMS_MAX_PARTS parts in
    some language. Every language is checked, not only the segment's, so that whether a
    text may go does not change with who happens to be in the segment today."""
    limit = settings.SOSEDI_SMS_MAX_PARTS
    for code, name in settings.LANGUAGES:
        parts = texting_parts(body=body, language=code).parts
        if parts > limit:
            return _(
                "With the line added in %(language)s this text takes %(parts)s parts; "
                "at most %(limit)s are allowed. Shorten it."
            ) % {"language": name, "parts": parts, "limit": limit}
    return ""


def _full_this_week(now: datetime) -> QuerySet:
    """The supporters who had SOSEDI_SMS_PER_WEEK segment texts or more in the last 7 days
    (went, or will go): one set, which PostgreSQL hashes once for the whole segment rather
    than counting each member's texts."""
    return (
        TextMessage.objects.filter(
            supporter__isnull=False,
            texting__isnull=False,
            status__in=COUNTED,
            created_at__gt=now - WEEK,
        )
        .order_by()
        .values("supporter")
        .annotate(n=Count("pk"))
        .filter(n__gte=settings.SOSEDI_SMS_PER_WEEK)
        .values("supporter")
    )


def texting_consenting(*, segment: Segment) -> QuerySet:
    """The segment's members who accept text messages."""
    return segment_members(segment=segment).filter(consent_text_messages=True)


def texting_members(*, segment: Segment, now: datetime | None = None) -> QuerySet:
    """Who a texting of the segment reaches at `now`: members who accept texts, at a
    number in E.164, who had fewer than SOSEDI_SMS_PER_WEEK segment texts in 7 days."""
    return (
        texting_consenting(segment=segment)
        .filter(phone__regex=E164)
        .exclude(pk__in=_full_this_week(now or timezone.now()))
    )


def texting_price() -> Decimal:
    """SOSEDI_SMS_PRICE_PER_PART as a decimal (the setting is a float)."""
    return Decimal(str(settings.SOSEDI_SMS_PRICE_PER_PART))


def _cost(parts: int) -> Decimal:
    return (parts * texting_price()).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class LanguageShare:
    """The recipients who read one language, and the text as they get it."""

    language: str
    name: str
    recipients: int
    footer: str
    parts: Parts

    @property
    def parts_total(self) -> int:
        return self.recipients * self.parts.parts

    @property
    def cost(self) -> Decimal:
        return _cost(self.parts_total)


@dataclass(frozen=True)
class TextingAudience:
    """The counts shown before sending: consenting = recipients + without_phone +
    left_out_by_limit."""

    consenting: int  # members who accept texts
    without_phone: int  # ... but whose number is not one a text can reach
    left_out_by_limit: int  # ... reachable, but had their texts from segments this week
    recipients: int
    languages: tuple[LanguageShare, ...]

    @property
    def parts_total(self) -> int:
        return sum(share.parts_total for share in self.languages)

    @property
    def cost(self) -> Decimal:
        return _cost(self.parts_total)


def texting_audience(
    *, segment: Segment, body: str = "", now: datetime | None = None
) -> TextingAudience:
    """Who a texting of `body` reaches, per language, and its parts and cost.

    `recipients` is the count of the very queryset the preparation addresses.
    """
    now = now or timezone.now()
    row = texting_consenting(segment=segment).aggregate(
        consenting=Count("pk"), with_phone=Count("pk", filter=Q(phone__regex=E164))
    )
    by_language = dict(
        texting_members(segment=segment, now=now)
        .order_by()
        .values_list("language")
        .annotate(n=Count("pk"))
    )
    recipients = sum(by_language.values())
    languages = tuple(
        LanguageShare(
            language=code,
            name=str(name),
            recipients=by_language.get(code, 0),
            footer=texting_footer(language=code),
            parts=texting_parts(body=body, language=code),
        )
        for code, name in settings.LANGUAGES
    )
    return TextingAudience(
        consenting=row["consenting"],
        without_phone=row["consenting"] - row["with_phone"],
        left_out_by_limit=row["with_phone"] - recipients,
        recipients=recipients,
        languages=languages,
    )


@transaction.atomic
def texting_start(
    *,
    segment: Segment,
    body: str,
    actor: Actor,
    confirm_count: int,
    now: datetime | None = None,
) -> Texting:
    """Store the texting, its audit entry and the job that writes its texts: all three or
    none. `confirm_count` is the number of recipients the coordinator was shown: if the
    segment reaches another number now, nothing is written (TextingRefused)."""
    from supporters.sms.texting_tasks import texting_prepare

    body = body.strip()
    if not body:
        raise TextingRefused(_("Write the text."))
    if refusal := texting_refusal(body=body):
        raise TextingRefused(refusal)
    audience = texting_audience(segment=segment, body=body, now=now)
    if audience.recipients != confirm_count:
        raise TextingRefused(
            _("The segment changed: it now reaches %(n)s people. Check and send again.")
            % {"n": audience.recipients},
            recipients=audience.recipients,
        )
    if not audience.recipients:
        raise TextingRefused(_("Nobody in this segment can get a text now."), recipients=0)
    user = actor.user if getattr(actor.user, "pk", None) else None
    texting = Texting.objects.create(
        segment=segment,
        body=body,
        recipients_total=audience.recipients,
        parts_total=audience.parts_total,
        cost_estimate=audience.cost,
        created_by=user,
    )
    audit_record(
        actor=actor,
        action=AuditEntry.Action.TEXTING,
        filter={**segment.describe(), "texting": texting.pk},
        row_count=audience.recipients,
        detail=segment.name,
    )
    texting_prepare.defer(texting_id=texting.pk)
    return texting


def _zone(place) -> str:
    """The IANA zone of a gazetteer place; TIME_ZONE when it has none that zoneinfo knows."""
    name = getattr(place, "timezone", "") or ""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return settings.TIME_ZONE
    return name


def _not_addressed(texting: Texting) -> QuerySet:
    """The ids a texting has a text for, for `pk__in`: a NOT IN that PostgreSQL hashes once
    (a NOT EXISTS per person was planned as a scan of the texting's texts per person)."""
    return TextMessage.objects.filter(texting=texting, supporter__isnull=False).values(
        "supporter_id"
    )


def texting_prepare(*, texting_id: int, batch: int) -> int:
    """Write every text of a texting, `batch` recipients a transaction; returns how many.

    The segment is searched once for its recipients; each batch then checks the next of
    them again, by id (a batch searching the segment again cost a scan of everyone in its
    area), and a last search finds whoever became a recipient meanwhile."""
    texting = Texting.objects.select_related("segment").get(pk=texting_id)
    if texting.status != Texting.Status.PREPARING:
        return 0
    found = list(
        texting_members(segment=texting.segment)
        .exclude(pk__in=_not_addressed(texting))
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    written = 0
    for start in range(0, len(found), batch):
        chunk = found[start : start + batch]
        written += texting_prepare_batch(texting_id=texting_id, batch=batch, among=chunk)
    while n := texting_prepare_batch(texting_id=texting_id, batch=batch):
        written += n
    return written


def texting_prepare_batch(
    *, texting_id: int, batch: int, now: datetime | None = None, among: list | None = None
) -> int:
    """Write the texts of the next `batch` recipients of a texting (of those with their id
    in `among` if given); returns how many (0 when done, and for a texting already
    prepared).

    One transaction writes the texts and their delivery jobs, so a worker killed mid-batch
    leaves none of them and the next run takes the same people again. The lock on the
    texting row, excluding people it already has a text for, and the texting_once unique
    constraint make a second run a no-op rather than a second copy. The weekly limit is
    applied again here: a person may have been texted by another segment since the start.
    Each text is held until the quiet hours end in its recipient's time zone, the zone of
    the gazetteer place nearest the centre of their cell.
    """
    now = now or timezone.now()
    with transaction.atomic():
        texting = Texting.objects.select_for_update().select_related("segment").get(pk=texting_id)
        if texting.status != Texting.Status.PREPARING:
            return 0
        members = texting_members(segment=texting.segment, now=now).exclude(
            pk__in=_not_addressed(texting)
        )
        if among is not None:
            members = members.filter(pk__in=among)
        people = list(members.only("language", "phone", "location").order_by("pk")[:batch])
        if not people:
            if among is not None:
                return 0
            written = TextMessage.objects.filter(texting=texting).aggregate(
                n=Count("pk"), parts=Coalesce(Sum("parts"), 0)
            )
            texting.status = Texting.Status.SENDING if written["n"] else Texting.Status.DONE
            texting.recipients_total = written["n"]
            texting.parts_total = written["parts"]
            texting.cost_estimate = _cost(written["parts"])
            texting.save(
                update_fields=["status", "recipients_total", "parts_total", "cost_estimate"]
            )
            return 0
        # Everyone's location is their cell's centre: each cell is looked up once.
        points = list(dict.fromkeys((p.location.x, p.location.y) for p in people))
        nearest = dict(zip(points, places_nearest(points, within_km=ANYWHERE_KM), strict=True))
        places = [nearest[(p.location.x, p.location.y)] for p in people]
        # Each person's text as text_compose writes it, its body and parts found once per
        # language and its hold once per zone.
        bodies = {}
        for language in {p.language for p in people}:
            body = texting_text(body=texting.body, language=language)
            bodies[language] = (body, text_parts(body).parts)
        holds = {zone: quiet_until(zone, now=now) for zone in {_zone(p) for p in places}}
        texts = [
            TextMessage(
                supporter_id=person.pk,
                texting_id=texting.pk,
                kind=f"texting:{texting.pk}",
                to_phone=person.phone,
                body=bodies[person.language][0],
                parts=bodies[person.language][1],
                not_before=holds[_zone(place)],
            )
            for person, place in zip(people, places, strict=True)
        ]
        texts_queue(texts)
    return len(people)


def texting_progress(*, texting: Texting, now: datetime | None = None) -> dict:
    """How far a texting has gone, for its page and the JSON it polls."""
    now = now or timezone.now()
    counts = dict.fromkeys(TextMessage.Status.values, 0)
    rows = (
        TextMessage.objects.filter(texting=texting)
        .values_list("status")
        .order_by()
        .annotate(n=Count("pk"))
    )
    counts |= dict(rows)
    held = TextMessage.objects.filter(
        texting=texting, status=TextMessage.Status.QUEUED, not_before__gt=now
    ).count()
    addressed = sum(counts.values())
    total = max(texting.recipients_total, addressed)
    finished = addressed - counts["queued"]
    done = texting.status != Texting.Status.PREPARING and counts["queued"] == 0
    progress = {
        "status": "done" if done else texting.status,
        "total": total,
        "addressed": addressed,
        **counts,
        "held": held,
        "percent": round(100 * finished / total) if total else 100,
    }
    progress["text"] = _(
        "%(went)s of %(total)s sent (%(delivered)s delivered), %(queued)s waiting"
        " (%(held)s for quiet hours), %(failed)s failed, %(cancelled)s cancelled"
    ) % {**progress, "went": counts["sent"] + counts["delivered"]}
    return progress


def texting_log(*, texting: Texting, limit: int = 200) -> list[TextMessage]:
    """The first `limit` rows of a texting's send log: failed and waiting ones first."""
    order = ["failed", "queued", "cancelled", "sent", "delivered"]
    rank = Case(*(When(status=s, then=Value(i)) for i, s in enumerate(order)), default=Value(9))
    return list(
        TextMessage.objects.filter(texting=texting)
        .select_related("supporter")
        .order_by(rank, "pk")[:limit]
    )
