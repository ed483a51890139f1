"""Limits on what an attacker would repeat. Counted per keyed hash, never per raw IP."""

import hashlib
import hmac
from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext as _

from supporters.models import RateLimitEvent


class RateLimited(Exception):
    """Beyond a limit; views answer 429 with `message`."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def client_key(ip: str) -> str:
    """A keyed hash of a client address: countable, not reversible without SECRET_KEY."""
    return hmac.new(settings.SECRET_KEY.encode(), ip.encode(), hashlib.sha256).hexdigest()


def client_ip(request) -> str:
    # Behind nginx the proxy sets X-Real-IP; REMOTE_ADDR is the proxy itself then.
    if settings.CLIENT_IP_FROM_PROXY and request.META.get("HTTP_X_REAL_IP"):
        return request.META["HTTP_X_REAL_IP"]
    return request.META.get("REMOTE_ADDR", "")


def ratelimit_hit(
    *, scope: str, key: str, limit: int, window: timedelta, message: str | None = None
) -> None:
    """Count one action; raise RateLimited if `limit` were already reached in `window`."""
    table = connection.ops.quote_name(RateLimitEvent._meta.db_table)
    now = timezone.now()
    with connection.cursor() as cursor:
        # One round trip, two statements (a simple query: one transaction of its own, or
        # part of the caller's). The lock serialises concurrent hits on the same key; the
        # INSERT, a statement of its own, then counts with a snapshot taken after the lock
        # was granted, so two requests can't both pass; a refused hit inserts nothing.
        cursor.execute(
            "SELECT pg_advisory_xact_lock(hashtext(%s));"
            f" INSERT INTO {table} (scope, key, created_at) SELECT %s, %s, %s"
            f" WHERE (SELECT count(*) FROM {table}"
            " WHERE scope = %s AND key = %s AND created_at >= %s) < %s RETURNING id",
            [f"{scope}:{key}", scope, key, now, scope, key, now - window, limit],
        )
        cursor.nextset()
        counted = cursor.fetchone() is not None
    if not counted:
        raise RateLimited(message or _("Too many attempts. Please try again later."))


def ratelimit_prune(*, older_than: timedelta = timedelta(days=40)) -> int:
    deleted, _ = RateLimitEvent.objects.filter(created_at__lt=timezone.now() - older_than).delete()
    return deleted
