"""What a text received does: STOP, a sign-up by keyword and its confirmation, an answer
to the survey, or a message for the coordinators' inbox.

The order matters. STOP is looked for first and whatever else is going on: a person who
wants no more texts must never be told their text was not understood. Then a join
keyword, a YES to a sign-up by text, an answer to the survey; the rest is the inbox.
Replies are answers (services.REPLY_KINDS): they go out whatever the hour, once per text.
"""

import re
import unicodedata
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from geo.geocoding import GeocodingError, Precision, geocode
from supporters import emails
from supporters.models import Channel, ConsentRecord, Purpose, Supporter
from supporters.phones import phone_key
from supporters.ratelimit import RateLimited, client_key, ratelimit_hit
from supporters.services import (
    consent_set,
    supporter_confirm,
    supporter_erase,
    supporter_location_fields,
)
from supporters.sms import survey
from supporters.sms.gateways import Received
from supporters.sms.models import InboundText, SurveyProgress
from supporters.sms.services import text_queue, texts_cancel

BODY_MAX = 1600  # ten parts of Cyrillic: longer is not a text anyone typed

# STOP words. The unambiguous ones stop a text they begin ("Стоп пожалуйста"); the ones
# that begin ordinary sentences too ("End of the meeting?") only when they are all of it.
STOP_FIRST_WORDS = frozenset(
    {"stop", "stopall", "unsubscribe", "стоп", "отписка", "отписаться", "отпишите",
     "отпишись", "хватит"}
)  # fmt: skip
STOP_WHOLE_WORDS = frozenset({"cancel", "end", "quit", "optout", "revoke"})
YES_WORDS = frozenset({"yes", "y", "ok", "okay", "да", "д", "ок", "ага"})

# Letters that look alike in the two alphabets (lower case): a word that mixes them was
# typed on a keyboard switched halfway, or by someone who meant the look ("CTOП").
_LATIN_TO_CYRILLIC = str.maketrans("abcehkmoptxy", "авсенкмортху")
_CYRILLIC_TO_LATIN = str.maketrans("авсенкмортхуѕіј", "abcehkmoptxysij")


def text_clean(body: str) -> str:
    """The body as stored: NUL and other control or format characters gone (newlines
    kept), composed (NFC), at most BODY_MAX characters."""
    body = unicodedata.normalize("NFC", body)
    kept = "".join(
        ch for ch in body if ch == "\n" or unicodedata.category(ch)[0] != "C" or ch == "\t"
    )
    return kept.strip()[:BODY_MAX]


def _is_cyrillic(ch: str) -> bool:
    return "\u0400" <= ch <= "\u04ff"


def _is_latin(ch: str) -> bool:
    return ch.isascii() and ch.isalpha()


def words(text: str) -> list[str]:
    """The text's words, case-folded, without punctuation or emoji. A word that mixes
    Latin and Cyrillic letters is read in the alphabet its look-alikes all fold into
    ("CTOП" typed with a Latin C, T and O is "стоп")."""
    letters = "".join(ch if unicodedata.category(ch)[0] in "LNM" else " " for ch in text)
    # "1и3": a number ends where a letter starts.
    letters = re.sub(r"(?<=\d)(?=\D)|(?<=\D)(?=\d)", " ", letters.casefold())
    return [_unmixed(word) for word in letters.split()]


def _unmixed(word: str) -> str:
    if not (any(map(_is_cyrillic, word)) and any(map(_is_latin, word))):
        return word
    for table, other in ((_LATIN_TO_CYRILLIC, _is_latin), (_CYRILLIC_TO_LATIN, _is_cyrillic)):
        folded = word.translate(table)
        if not any(map(other, folded)):
            return folded
    return word


def is_stop(ws: list[str]) -> bool:
    if not ws:
        return False
    return ws[0] in STOP_FIRST_WORDS or (len(ws) == 1 and ws[0] in STOP_WHOLE_WORDS)


def is_yes(ws: list[str]) -> bool:
    return bool(ws) and ws[0] in YES_WORDS


def join_keyword(ws: list[str]) -> bool:
    keywords = {_unmixed(k.casefold()) for k in settings.SOSEDI_SMS_JOIN_KEYWORDS}
    return bool(ws) and ws[0] in keywords


def _town(body: str) -> str:
    """What follows the keyword ("ВСТУПИТЬ: Казань!" -> "Казань")."""
    match = re.match(r"\W*\w+(.*)", body, re.DOTALL)
    rest = match.group(1) if match else ""
    rest = "".join(ch if unicodedata.category(ch)[0] in "LNMZ" or ch in "-'." else " "
                   for ch in rest)  # fmt: skip
    return " ".join(rest.split()).strip(" -.'")


def _language(body: str) -> str:
    return "ru" if any(_is_cyrillic(ch) for ch in body.casefold()) else "en"


@transaction.atomic
def text_received(*, gateway: str, received: Received) -> InboundText | None:
    """Handle one received text, once: a gateway retrying its webhook gets the row
    stored the first time back and nothing happens again. Beyond
    SOSEDI_SMS_INBOUND_PER_HOUR texts from one number in an hour a text is dropped:
    not stored, not answered (None)."""
    gateway_id = text_clean(received.gateway_id)[:100]
    if gateway_id:
        with connection.cursor() as cursor:  # two deliveries of one webhook at once
            cursor.execute(
                "SELECT pg_advisory_xact_lock(hashtext(%s))", [f"sms_in:{gateway}:{gateway_id}"]
            )
        stored = InboundText.objects.filter(gateway=gateway, gateway_id=gateway_id).first()
        if stored is not None:
            return stored
    sender = text_clean(received.from_phone).replace("\n", " ")
    phone = phone_key(sender) if sender else ""
    try:
        # Also serialises one number's texts: "YES" twice confirms once.
        ratelimit_hit(
            scope="sms_inbound",
            key=client_key(phone or sender),
            limit=settings.SOSEDI_SMS_INBOUND_PER_HOUR,
            window=timedelta(hours=1),
        )
    except RateLimited:
        return None
    body = text_clean(received.body)
    handled, supporter = (
        _handle(phone=phone, body=body) if phone else (InboundText.Handling.INBOX, None)
    )
    return InboundText.objects.create(
        supporter=supporter,
        from_phone=(phone or sender)[:16],
        body=body,
        gateway=gateway[:20],
        gateway_id=gateway_id,
        handled_as=handled,
    )


def _handle(*, phone: str, body: str) -> tuple[str, Supporter | None]:
    ws = words(body)
    if is_stop(ws):
        return InboundText.Handling.STOP, _stop(phone=phone)
    if join_keyword(ws):
        return InboundText.Handling.JOIN, _join(phone=phone, body=body)
    if is_yes(ws):
        pending = _pending_by_text(phone)
        if pending is not None:
            return InboundText.Handling.CONFIRM, _confirm(pending, phone=phone)
    progress = survey.progress_for(phone=phone)
    if progress is not None:
        supporter = progress.supporter
        if survey.survey_answer(progress=progress, words=ws, phone=phone):
            return InboundText.Handling.SURVEY, supporter
        return InboundText.Handling.INBOX, supporter
    people = list(Supporter.objects.filter(phone=phone)[:2])
    return InboundText.Handling.INBOX, people[0] if len(people) == 1 else None


def _stop(*, phone: str) -> Supporter | None:
    """No more texts to `phone`, at once: the consent of everyone with that number goes,
    what is queued to it is cancelled, the survey ends. Answered only if a consent went,
    so a second STOP gets no second answer and a number we don't know gets none. A
    sign-up by text never confirmed is no sign-up: it is erased."""
    people = []
    for person in Supporter.objects.filter(phone=phone).order_by("created_at"):
        if person.status == Supporter.Status.PENDING and not person.email:
            supporter_erase(supporter=person)
        else:
            people.append(person)
    changed = [
        p
        for p in people
        if consent_set(
            supporter=p,
            purpose=Purpose.TEXT_MESSAGES,
            granted=False,
            source=ConsentRecord.Source.TEXT_MESSAGE,
        )
    ]
    texts_cancel(phone=phone)
    SurveyProgress.objects.filter(supporter__in=people).delete()
    if changed:
        person = changed[0]
        text_queue(
            supporter=person,
            kind="sms_stop_reply",
            template="sms/stop_reply",
            context={"manage_url": emails.manage_url(person), "site_url": settings.SITE_URL},
            to_phone=phone,
        )
    return people[0] if len(people) == 1 else None


def _join(*, phone: str, body: str) -> Supporter | None:
    """A pending supporter placed in the town named after the keyword, who confirms with
    YES; someone already on the list is told so, and nothing else happens."""
    language = _language(body)
    known = (
        Supporter.objects.filter(
            phone=phone, status__in=[Supporter.Status.ACTIVE, Supporter.Status.PENDING]
        )
        .order_by("-created_at")
        .first()
    )
    if known is not None:
        text_queue(
            supporter=known,
            kind="sms_join_known",
            template="sms/join_known",
            context={
                "pending": known.status == Supporter.Status.PENDING and not known.email,
                "site_url": settings.SITE_URL,
            },
            to_phone=phone,
            language=language,
        )
        return known
    town = _town(body)
    try:
        location = geocode(town, language=language) if town else None
    except GeocodingError:
        location = None
    if location is None or location.source != "gazetteer" or location.precision != Precision.CITY:
        first = words(body)[0]
        keyword = next(
            k for k in settings.SOSEDI_SMS_JOIN_KEYWORDS if _unmixed(k.casefold()) == first
        )
        text_queue(
            supporter=None,
            kind="sms_join_where",
            template="sms/join_where",
            context={"keyword": keyword, "town": town[:40]},
            to_phone=phone,
            language=language,
        )
        return None
    supporter = Supporter(
        email="",
        display_name="",
        phone=phone,
        language=language,
        channel=Channel.PHONE,
        status=Supporter.Status.PENDING,
        **supporter_location_fields(location),
    )
    supporter.full_clean(validate_unique=False, validate_constraints=False)
    supporter.save()
    text_queue(
        supporter=supporter,
        kind="sms_join_confirm",
        template="sms/join_confirm",
        context={"town": location.city},
        to_phone=phone,
    )
    return supporter


def _pending_by_text(phone: str) -> Supporter | None:
    """The newest sign-up by text from this number still waiting for its YES."""
    since = timezone.now() - timedelta(seconds=settings.SOSEDI_CONFIRM_LINK_MAX_AGE)
    return (
        Supporter.objects.select_for_update()
        .filter(
            phone=phone,
            email="",
            status=Supporter.Status.PENDING,
            created_at__gte=since,
            inbound_texts__handled_as=InboundText.Handling.JOIN,
        )
        .order_by("-created_at")
        .first()
    )


def _confirm(supporter: Supporter, *, phone: str) -> Supporter:
    """YES: active, the text consent granted, a welcome with the manage link, and the
    survey's first question if there is a survey."""
    supporter = supporter_confirm(supporter=supporter)  # its welcome mail: no address, none
    consent_set(
        supporter=supporter,
        purpose=Purpose.TEXT_MESSAGES,
        granted=True,
        source=ConsentRecord.Source.TEXT_MESSAGE,
    )
    supporter.refresh_from_db()
    text_queue(
        supporter=supporter,
        kind="sms_welcome",
        template="sms/welcome",
        context={"manage_url": emails.manage_url(supporter)},
        to_phone=phone,
    )
    survey.survey_start(supporter=supporter, phone=phone)
    return supporter
