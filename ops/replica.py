"""Reads that may lag go to the streaming replica (DATABASE_REPLICA_URL), everything else to
the primary.

A view family opts in with `@reads_may_lag`; nothing else ever reads from the replica, so a
forgotten decorator costs load, never correctness. At the start of such a request the
replica is used only if it is reachable, still a standby, and at most
SOSEDI_REPLICA_MAX_LAG_SECONDS behind; its lag (pg_last_xact_replay_timestamp) is measured
at most every SOSEDI_REPLICA_CHECK_SECONDS per process. Otherwise the primary answers and a
warning is logged: a dead or lagging replica makes pages slower, never a 500.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import wraps
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections

log = logging.getLogger(__name__)

REPLICA = "replica"

# Rows that decide who may do what, the job queue, and the organizer's own just-made objects
# are read from the primary even in a may-lag view: a logout, a revoked role or a lockout
# takes effect at once, and a segment created a second ago can be exported at once.
PRIMARY_ONLY_APPS = frozenset(
    {"auth", "sessions", "contenttypes", "admin", "otp_totp", "otp_static", "django_otp", "axes",
     "procrastinate"}
)  # fmt: skip
PRIMARY_ONLY_MODELS = frozenset({"supporters.segment", "supporters.mailing"})

# The alias this request's may-lag reads go to; None outside a may-lag view.
_lagging_reads_to: ContextVar[str | None] = ContextVar("sosedi_lagging_reads_to", default=None)

# One query on the standby. Lag is zero while a WAL receiver runs and everything received is
# replayed (an idle primary must not look like a lagging replica); otherwise it is the age of
# the last replayed commit, which only overstates the lag (never hides it).
LAG_SQL = """
SELECT pg_is_in_recovery(),
       EXISTS (SELECT 1 FROM pg_stat_wal_receiver)
         AND pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn(),
       EXTRACT(EPOCH FROM clock_timestamp() - pg_last_xact_replay_timestamp())::float8
"""


def replica_configured() -> bool:
    return REPLICA in settings.DATABASES


@dataclass
class ReplicaState:
    """What the last check found; one per process, shared by its threads."""

    usable: bool = False
    lag: float | None = None
    reason: str = "not checked yet"
    checked_at: float = float("-inf")  # time.monotonic()


class ReplicaHealth:
    """Measures the replica at most every SOSEDI_REPLICA_CHECK_SECONDS; between checks, and
    while another thread checks, requests use the last answer without waiting."""

    def __init__(self) -> None:
        self.state = ReplicaState()
        self._lock = threading.Lock()

    def reset(self) -> None:
        with self._lock:
            self.state = ReplicaState()

    def usable(self) -> bool:
        interval = float(getattr(settings, "SOSEDI_REPLICA_CHECK_SECONDS", 5))
        if time.monotonic() - self.state.checked_at >= interval and self._lock.acquire(
            blocking=False
        ):
            try:
                self._record(*self._measure())
            finally:
                self._lock.release()
        return self.state.usable

    def mark_down(self, reason: str) -> None:
        """A request found the replica broken between two checks: skip it until the next."""
        self._record(False, None, reason)

    def _measure(self) -> tuple[bool, float | None, str]:
        max_lag = float(settings.SOSEDI_REPLICA_MAX_LAG_SECONDS)
        try:
            with connections[REPLICA].cursor() as cursor:
                cursor.execute(LAG_SQL)
                in_recovery, caught_up, age = cursor.fetchone()
        except DatabaseError as exc:
            connections[REPLICA].close()
            return False, None, f"unreachable ({str(exc).strip().splitlines()[0][:200]})"
        if not in_recovery:
            # Promoted (or pointed at a primary by mistake): it no longer follows our primary.
            return False, None, "not a standby (promoted?)"
        lag = 0.0 if caught_up else age
        if lag is None:
            return False, None, "has replayed nothing yet"
        if lag > max_lag:
            return False, lag, f"{lag:.1f} s behind (more than {max_lag:g} s)"
        return True, lag, "ok"

    def _record(self, usable: bool, lag: float | None, reason: str) -> None:
        was = self.state.usable
        self.state = ReplicaState(usable, lag, reason, time.monotonic())
        if not usable:
            log.warning("read replica skipped, the primary answers: %s", reason)
        elif not was:
            log.info("read replica in use again (%.1f s behind)", lag or 0.0)


health = ReplicaHealth()


def _pick_alias() -> str:
    if not replica_configured() or not health.usable():
        return DEFAULT_DB_ALIAS
    # One round trip to the server itself (through pgbouncer too, which would accept a
    # connection for a dead server), as CONN_HEALTH_CHECKS would before the first query: a
    # replica that died since the last check is found now, not in the middle of the view.
    connection = connections[REPLICA]
    try:
        connection.ensure_connection()
        if not connection.is_usable():
            raise DatabaseError("it does not answer")
        connection.health_check_done = True  # just checked: Django's check need not ping again
    except DatabaseError as exc:
        connections[REPLICA].close()
        health.mark_down(f"unreachable ({str(exc).strip().splitlines()[0][:200]})")
        return DEFAULT_DB_ALIAS
    return REPLICA


@contextmanager
def lagging_reads() -> Iterator[str]:
    """Within this block, reads that may lag go to the replica if it is fit; yields the alias."""
    token = _lagging_reads_to.set(_pick_alias())
    try:
        yield _lagging_reads_to.get() or DEFAULT_DB_ALIAS
    finally:
        _lagging_reads_to.reset(token)


def reads_may_lag(view: Callable[..., Any]) -> Callable[..., Any]:
    """Declare a view whose reads may be up to SOSEDI_REPLICA_MAX_LAG_SECONDS old.

    Only for pages that show no write the same person just made (aggregates, public lists,
    exports); a read-after-write page stays on the primary by not having this.
    """

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        with lagging_reads() as alias:
            response = view(request, *args, **kwargs)
        if settings.DEBUG:  # lets `make cluster-demo` show the router at work
            response["X-Sosedi-Reads-From"] = alias
        return response

    return wrapped


class ReplicaRouter:
    """DATABASE_ROUTERS entry: may-lag reads to the replica, every write to the primary."""

    def db_for_read(self, model, **hints) -> str | None:
        alias = _lagging_reads_to.get()
        if alias != REPLICA:
            return None
        meta = model._meta
        if meta.app_label in PRIMARY_ONLY_APPS or meta.label_lower in PRIMARY_ONLY_MODELS:
            return DEFAULT_DB_ALIAS
        # Inside a transaction on the primary (a view that writes, then reads), read what
        # that transaction sees.
        if connections[DEFAULT_DB_ALIAS].in_atomic_block:
            return DEFAULT_DB_ALIAS
        return REPLICA

    def db_for_write(self, model, **hints) -> str:
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1, obj2, **hints) -> bool | None:
        # The replica holds the primary's rows: an object read from one may refer to the other.
        if {obj1._state.db, obj2._state.db} <= {DEFAULT_DB_ALIAS, REPLICA}:
            return True
        return None

    def allow_migrate(self, db: str, app_label: str, **hints) -> bool | None:
        if db == REPLICA:
            return False  # a standby is read-only; it gets the schema from the primary's WAL
        return None
