"""The append-only audit log: who looked at, exported or messaged whom, by filter."""

from django.conf import settings

from supporters.organize.models import AuditEntry
from supporters.ratelimit import client_ip, client_key


def _client(request) -> str:
    ip = client_ip(request)
    if settings.SOSEDI_AUDIT_HASH_IP and ip:
        return "hmac:" + client_key(ip)[:32]
    return ip


def audit_record(
    *, request, action: str, filter: dict, row_count: int, detail: str = ""
) -> AuditEntry:
    """Append one entry. `filter` says which rows (never who they are)."""
    user = request.user
    return AuditEntry.objects.create(
        actor_id=user.pk,
        actor=user.get_username(),
        action=action,
        detail=detail[:200],
        filter=filter,
        row_count=row_count,
        client=_client(request),
    )


def audit_record_for_user(
    *, user, action: str, filter: dict, row_count: int, detail: str = "", client: str = ""
) -> AuditEntry:
    """Append one entry for work done outside a request (the worker, a command)."""
    return AuditEntry.objects.create(
        actor_id=getattr(user, "pk", None),
        actor=user.get_username() if user is not None else "manage.py",
        action=action,
        detail=detail[:200],
        filter=filter,
        row_count=row_count,
        client=client,
    )
