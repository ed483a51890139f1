"""The background job of texting a segment (procrastinate)."""

import logging

from django.conf import settings
from procrastinate import RetryStrategy
from procrastinate.contrib.django import app

logger = logging.getLogger(__name__)


@app.task(queue="sms", retry=RetryStrategy(max_attempts=5, exponential_wait=5))
def texting_prepare(texting_id: int) -> None:
    """Write and queue one text per recipient of a texting, in committed batches; run
    again (a retry, a stalled job put back) it goes on where it stopped."""
    from supporters.sms.texting import texting_prepare as prepare

    total = prepare(texting_id=texting_id, batch=settings.SOSEDI_MAILING_BATCH)
    logger.info("texting %s: %s texts queued", texting_id, total)
