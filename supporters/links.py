"""Signed links in emails, one kind per purpose, and the decorator of the views they open.

A token signs one row's id (a supporter, a sign-in link, an introduction, an RSVP) under a
salt of its own, so a token made for one purpose opens nothing else. Each kind's lifetime
is read from the settings when a token is read, so a changed setting applies to links
already mailed. The salts are those of the links already out in people's mailboxes.
"""

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps

from django.conf import settings
from django.core import signing
from django.shortcuts import render


class LinkError(Exception):
    """A link that is forged, malformed, too old or already used."""

    def __init__(self, *, expired: bool):
        super().__init__("expired" if expired else "invalid")
        self.expired = expired


@dataclass(frozen=True)
class LinkKind:
    """Links of one purpose: a salt, and a lifetime in seconds (None: never expires)."""

    salt: str
    max_age: Callable[[], int] | None

    def _signer(self) -> signing.Signer:
        if self.max_age is None:
            return signing.Signer(salt=self.salt)
        return signing.TimestampSigner(salt=self.salt)

    def make(self, pk) -> str:
        return self._signer().sign(str(pk))

    def read(self, token: str) -> uuid.UUID:
        """The id the token signs; LinkError if it is forged, malformed or too old."""
        try:
            if self.max_age is None:
                value = self._signer().unsign(token)
            else:
                value = self._signer().unsign(token, max_age=self.max_age())
            return uuid.UUID(value)
        except signing.SignatureExpired as exc:
            raise LinkError(expired=True) from exc
        except (signing.BadSignature, ValueError) as exc:
            raise LinkError(expired=False) from exc


CONFIRM = LinkKind("sosedi.supporters.confirm", lambda: settings.SOSEDI_CONFIRM_LINK_MAX_AGE)
MANAGE = LinkKind("sosedi.supporters.manage", lambda: settings.SOSEDI_MANAGE_LINK_MAX_AGE)
SIGN_IN = LinkKind(
    "sosedi.nearby.sign_in", lambda: settings.SOSEDI_NEARBY_SIGN_IN_LINK_MINUTES * 60
)
# Usable a while after the request expires, to block or report what came in it.
INTRODUCTION = LinkKind(
    "sosedi.nearby.introduction",
    lambda: (settings.SOSEDI_INTRODUCTION_EXPIRY_DAYS + 30) * 86400,
)
RSVP = LinkKind("sosedi.nearby.rsvp", lambda: 365 * 86400)
# A local group's invitation to join; leaving a group from its mail works as long as
# unsubscribing does (the token signs the membership, gone once left).
GROUP_INVITATION = LinkKind("sosedi.groups.invitation", lambda: 365 * 86400)
GROUP_LEAVE = LinkKind("sosedi.groups.leave", None)
# One-click unsubscribe keeps working in old mail (RFC 8058 asks for it), so it never expires.
UNSUBSCRIBE = LinkKind("sosedi.organize.unsubscribe", None)


def link_view(template: str = "supporters/link_invalid.html"):
    """For views opened from a mailed link: a LinkError raised while the view runs (the
    token forged, too old or used up) becomes `template`'s page with a 400, saying whether
    the link expired, instead of each view catching it."""

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            try:
                return view(request, *args, **kwargs)
            except LinkError as exc:
                return render(request, template, {"expired": exc.expired}, status=400)

        return wrapper

    return decorator
