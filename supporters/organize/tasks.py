"""Background jobs of the organizer workspace (procrastinate)."""

import logging

from django.conf import settings
from procrastinate import RetryStrategy
from procrastinate.contrib.django import app

logger = logging.getLogger(__name__)


@app.task(queue="email", retry=RetryStrategy(max_attempts=5, exponential_wait=5))
def mailing_prepare(mailing_id: int) -> None:
    """Queue one outbox message per recipient of a mailing, in committed batches."""
    from supporters.organize.services import mailing_prepare_batch

    total = 0
    while n := mailing_prepare_batch(mailing_id=mailing_id, batch=settings.SOSEDI_MAILING_BATCH):
        total += n
    logger.info("mailing %s: %s messages queued", mailing_id, total)


@app.task(queue="imports", retry=False)
def import_run(import_id: int) -> None:
    """Run an uploaded CSV import (the same service `manage.py import_supporters` runs)."""
    from supporters.organize.imports import import_execute

    import_execute(import_id=import_id)


@app.task(queue="imports", queueing_lock="duplicates_search")
def duplicates_search(timestamp: int | None = None) -> None:
    """Look for possible duplicates on the whole list (nightly, and when an organizer
    asks); the pairs replace the last search's."""
    from supporters.organize.duplicates import possible_duplicates_search

    search = possible_duplicates_search()
    seconds = (search.finished_at - search.started_at).total_seconds()
    logger.info(
        "%s possible duplicates among %s people (%.1f s)", search.pairs, search.people, seconds
    )


if settings.SOSEDI_DUPLICATES_CRON:
    app.periodic(cron=settings.SOSEDI_DUPLICATES_CRON, periodic_id="duplicates")(duplicates_search)


@app.periodic(cron="20 3 * * *", periodic_id="imports_tidy")
@app.task(queue="imports", queueing_lock="imports_tidy")
def imports_tidy(timestamp: int | None = None) -> None:
    """Delete uploads nobody imported within SOSEDI_IMPORT_KEEP_DAYS: each is a copy of
    everyone on it."""
    from datetime import timedelta

    from django.utils import timezone

    from supporters.organize.imports.jobs import imports_abandoned_discard

    before = timezone.now() - timedelta(days=settings.SOSEDI_IMPORT_KEEP_DAYS)
    if n := imports_abandoned_discard(before=before):
        logger.info("%s uploads left unimported deleted", n)


@app.periodic(cron="*/10 * * * *", periodic_id="tally_compact")
@app.task(queue="maintenance", queueing_lock="tally_compact")
def tally_compact(timestamp: int | None = None) -> None:
    """Fold the rows the supporters' triggers appended to the cell tally (the heatmap's
    counts) into one per cell and status, so that reading it stays quick."""
    from supporters.organize.tally import tally_compact as compact

    before, after = compact()
    logger.info("cell tally: %s rows folded into %s", before, after)


@app.periodic(cron="*/5 * * * *", periodic_id="retry_stalled_jobs")
@app.task(queue="maintenance", pass_context=True, queueing_lock="retry_stalled_jobs")
async def retry_stalled_jobs(context, timestamp: int) -> None:
    """Put back jobs whose worker died (no heartbeat for a while), e.g. a half-sent mailing.

    The jobs that can be retried this way are safe to run again: the mailing preparation
    skips people already in the send log, the event invitations people already invited,
    and deliver_message skips sent messages.
    """
    manager = context.app.job_manager
    for job in await manager.get_stalled_jobs(seconds_since_heartbeat=120):
        logger.warning("retrying stalled job %s (%s)", job.id, job.task_name)
        await manager.retry_job(job)
