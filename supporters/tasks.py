"""Background jobs (procrastinate, on PostgreSQL)."""

import logging

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.utils import timezone
from procrastinate import RetryStrategy
from procrastinate.contrib.django import app

from supporters.mailer import mail_stage
from supporters.models import OutboxMessage

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 8


@app.task(
    queue="email",
    retry=RetryStrategy(max_attempts=MAX_ATTEMPTS - 1, exponential_wait=5),
)
def deliver_message(message_id: int) -> None:
    """Send one outbox message through the configured email backend, exactly once.

    The row stays locked while the mail goes out, so two workers never send it twice, and
    "sent" is committed before the SMTP server gets the end of the message (see
    supporters/mailer.py), so a worker killed mid-send never leaves a delivered mail
    queued for a second copy. A failure is recorded on the row and re-raised for
    procrastinate to retry with exponential backoff; after the last attempt the message is
    marked failed (the admin can queue it again).
    """
    failed = None
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
            finish = mail_stage(
                EmailMessage(
                    subject=message.subject,
                    body=message.body_text,
                    from_email=settings.DEFAULT_FROM_EMAIL,
                    to=[message.to_email],
                    headers=message.headers,
                )
            )
        except Exception as exc:
            _record_failure(message, exc)
            message.save(update_fields=["attempts", "last_error", "status"])
            failed = exc
        else:
            message.status = OutboxMessage.Status.SENT
            message.last_error = ""
            message.save(update_fields=["attempts", "last_error", "status"])
    if failed is None:
        try:
            finish()  # the end of the message, now that the database says "sent"
        except Exception as exc:
            _record_failure(message, exc)
            OutboxMessage.objects.filter(pk=message.pk).update(
                status=message.status, last_error=message.last_error
            )
            failed = exc
        else:
            OutboxMessage.objects.filter(pk=message.pk).update(sent_at=timezone.now())
            return
    logger.warning("message %s not sent (attempt %s): %s", message_id, message.attempts, failed)
    raise failed


def _record_failure(message: OutboxMessage, exc: Exception) -> None:
    message.last_error = f"{type(exc).__name__}: {exc}"[:500]
    message.status = (
        OutboxMessage.Status.FAILED
        if message.attempts >= MAX_ATTEMPTS
        else OutboxMessage.Status.QUEUED
    )


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
