"""Background jobs of nearby: event invitations, expiry and reminders (procrastinate)."""

import logging

from django.conf import settings
from procrastinate import RetryStrategy
from procrastinate.contrib.django import app

from supporters.nearby import services
from supporters.nearby.models import Event

logger = logging.getLogger(__name__)


@app.task(queue="email", retry=RetryStrategy(max_attempts=5, exponential_wait=5))
def send_event_invitations(event_id: str) -> None:
    """Invite the supporters around an approved event's venue, in committed batches (safe to
    run again: people already invited are not invitees any more)."""
    event = Event.objects.filter(pk=event_id).first()
    if event is None:
        return  # erased with its host
    invited = services.event_invitations_send(event=event)
    logger.info("event %s: %s invitations queued", event_id, invited)


@app.task(queue="nearby", queueing_lock="nearby_housekeeping")
def nearby_housekeeping(timestamp: int | None = None) -> None:
    """Expire unanswered introductions, send the day-before reminders, forget old links."""
    expired = services.introductions_expire()
    reminded = services.event_reminders_send()
    pruned = services.sign_in_links_prune()
    logger.info(
        "nearby: %s introductions expired, %s reminders queued, %s sign-in links pruned",
        expired,
        reminded,
        pruned,
    )


if settings.SOSEDI_NEARBY_HOUSEKEEPING_CRON:
    app.periodic(cron=settings.SOSEDI_NEARBY_HOUSEKEEPING_CRON, periodic_id="nearby")(
        nearby_housekeeping
    )
