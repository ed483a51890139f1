"""Background jobs (procrastinate, on PostgreSQL)."""

import logging

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.utils import timezone
from procrastinate import RetryStrategy
from procrastinate.contrib.django import app

from supporters.models import OutboxMessage

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 8


@app.task(
    queue="email",
    retry=RetryStrategy(max_attempts=MAX_ATTEMPTS - 1, exponential_wait=5),
)
def deliver_message(message_id: int) -> None:
    """Send one outbox message through the configured email backend, exactly once.

    The row stays locked while the mail goes out, so two workers never send it twice.
    A failure is recorded on the row and re-raised for procrastinate to retry with
    exponential backoff; after the last attempt the message is marked failed.
    """
    with transaction.atomic():
        message = (
            OutboxMessage.objects.select_for_update(skip_locked=True)
            .filter(pk=message_id, status=OutboxMessage.Status.QUEUED)
            .first()
        )
        if message is None:
            return  # sent already, being sent, or erased with its supporter
        message.attempts += 1
        try:
            EmailMessage(
                subject=message.subject,
                body=message.body_text,
                from_email=settings.DEFAULT_FROM_EMAIL,
                to=[message.to_email],
                headers=message.headers,
            ).send()
        except Exception as exc:
            message.last_error = f"{type(exc).__name__}: {exc}"[:500]
            if message.attempts >= MAX_ATTEMPTS:
                message.status = OutboxMessage.Status.FAILED
            message.save(update_fields=["attempts", "last_error", "status"])
            failed = exc
        else:
            message.status = OutboxMessage.Status.SENT
            message.sent_at = timezone.now()
            message.last_error = ""
            message.save(update_fields=["attempts", "last_error", "status", "sent_at"])
            return
    logger.warning("message %s not sent (attempt %s): %s", message_id, message.attempts, failed)
    raise failed


@app.task(queue="maps", queueing_lock="refresh_map")
def refresh_public_map(timestamp: int | None = None) -> None:
    """Rebuild the public map's snapshot (what `manage.py refresh_map` does)."""
    from django.core.management import call_command

    call_command("refresh_map", verbosity=0)
    logger.info("public map snapshot rebuilt (scheduled for %s)", timestamp)


# Hourly by default (SOSEDI_MAP_REFRESH_CRON); the worker defers it on schedule.
if settings.SOSEDI_MAP_REFRESH_CRON:
    app.periodic(cron=settings.SOSEDI_MAP_REFRESH_CRON, periodic_id="public_map")(
        refresh_public_map
    )
