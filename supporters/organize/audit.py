"""The append-only audit log: who looked at, exported or messaged whom, by filter."""

from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

from supporters.organize.models import AuditEntry
from supporters.ratelimit import client_ip, client_key


def _client(request) -> str:
    ip = client_ip(request)
    if settings.SOSEDI_AUDIT_HASH_IP and ip:
        return "hmac:" + client_key(ip)[:32]
    return ip


@dataclass(frozen=True)
class Actor:
    """Who does what the log records: an account (None: manage.py) and where from.

    Taken from the request in the view, so that a service can write its entry inside its
    own transaction, together with what it records.
    """

    user: AbstractBaseUser | AnonymousUser | None
    client: str = ""

    @classmethod
    def of(cls, request) -> "Actor":
        return cls(user=request.user, client=_client(request))


def audit_record(
    *, actor: Actor, action: str, filter: dict, row_count: int, detail: str = ""
) -> AuditEntry:
    """Append one entry. `filter` says which rows (never who they are)."""
    user = actor.user
    return AuditEntry.objects.create(
        actor_id=getattr(user, "pk", None),
        actor=user.get_username() if user is not None else "manage.py",
        action=action,
        detail=detail[:200],
        filter=filter,
        row_count=row_count,
        client=actor.client,
    )


def audit_record_for_user(
    *, user, action: str, filter: dict, row_count: int, detail: str = "", client: str = ""
) -> AuditEntry:
    """Append one entry for work done outside a request (the worker, a command)."""
    return audit_record(
        actor=Actor(user=user, client=client),
        action=action,
        filter=filter,
        row_count=row_count,
        detail=detail,
    )
