"""Background jobs of local groups (procrastinate)."""

import logging

from procrastinate import RetryStrategy
from procrastinate.contrib.django import app

logger = logging.getLogger(__name__)


@app.task(queue="email", retry=RetryStrategy(max_attempts=5, exponential_wait=5))
def group_invitations_send(group_id: str) -> None:
    """Invite the neighbours of an approved group, in committed batches (safe to run again:
    people already invited are not invitees any more)."""
    from supporters.groups.invitations import group_invitations_send as send

    invited = send(group_id=group_id)
    logger.info("group %s: %s invitations queued", group_id, invited)
