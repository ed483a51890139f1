"""Signed links of nearby: sign-in, answering an introduction, RSVP."""

import uuid

from django.conf import settings
from django.core import signing

from supporters.tokens import LinkError

_SIGN_IN = "sosedi.nearby.sign_in"
_INTRODUCTION = "sosedi.nearby.introduction"
_RSVP = "sosedi.nearby.rsvp"


def _make(salt: str, pk) -> str:
    return signing.TimestampSigner(salt=salt).sign(str(pk))


def _read(salt: str, token: str, max_age: int) -> uuid.UUID:
    try:
        return uuid.UUID(signing.TimestampSigner(salt=salt).unsign(token, max_age=max_age))
    except signing.SignatureExpired as exc:
        raise LinkError(expired=True) from exc
    except (signing.BadSignature, ValueError) as exc:
        raise LinkError(expired=False) from exc


def sign_in_token(link_id) -> str:
    return _make(_SIGN_IN, link_id)


def sign_in_token_read(token: str) -> uuid.UUID:
    return _read(_SIGN_IN, token, settings.SOSEDI_NEARBY_SIGN_IN_LINK_MINUTES * 60)


def introduction_token(introduction_id) -> str:
    return _make(_INTRODUCTION, introduction_id)


def introduction_token_read(token: str) -> uuid.UUID:
    # Usable a while after the request expires, to block or report what came in it.
    days = settings.SOSEDI_INTRODUCTION_EXPIRY_DAYS + 30
    return _read(_INTRODUCTION, token, days * 86400)


def rsvp_token(rsvp_id) -> str:
    return _make(_RSVP, rsvp_id)


def rsvp_token_read(token: str) -> uuid.UUID:
    return _read(_RSVP, token, 365 * 86400)
