"""Signed links in emails: confirm a sign-up, manage one's data."""

import uuid

from django.conf import settings
from django.core import signing

_CONFIRM = "sosedi.supporters.confirm"
_MANAGE = "sosedi.supporters.manage"


class LinkError(Exception):
    """A link that is forged, malformed or too old."""

    def __init__(self, *, expired: bool):
        super().__init__("expired" if expired else "invalid")
        self.expired = expired


def _make(salt: str, supporter_id) -> str:
    return signing.TimestampSigner(salt=salt).sign(str(supporter_id))


def _read(salt: str, token: str, max_age: int) -> uuid.UUID:
    try:
        return uuid.UUID(signing.TimestampSigner(salt=salt).unsign(token, max_age=max_age))
    except signing.SignatureExpired as exc:
        raise LinkError(expired=True) from exc
    except (signing.BadSignature, ValueError) as exc:
        raise LinkError(expired=False) from exc


def confirm_token(supporter_id) -> str:
    return _make(_CONFIRM, supporter_id)


def confirm_token_read(token: str) -> uuid.UUID:
    return _read(_CONFIRM, token, settings.SOSEDI_CONFIRM_LINK_MAX_AGE)


def manage_token(supporter_id) -> str:
    return _make(_MANAGE, supporter_id)


def manage_token_read(token: str) -> uuid.UUID:
    return _read(_MANAGE, token, settings.SOSEDI_MANAGE_LINK_MAX_AGE)
