"""Texts under a killed worker, against the stub gateways of
tests/supporters/sms/sms_stubs.py and real `procrastinate worker` processes (as
tests/ops/test_worker_faults.py does for mail).

The worker is SIGKILLed (a) while the gateway has the request's headers and part of its
body, and (b) once the gateway has the whole request, before it answers (the moment a
sender that commits "sent" only on the answer would send the text again). Its jobs are
recovered as the periodic stalled-job retry would, and a new worker started: every text
reaches the gateway exactly once and none is left queued. A retried job that finds its
text marked sent but unconfirmed asks the gateway whether it has it (Gateway.took), so a
kill in the instant between committing "sent" and the request's last byte loses nothing.
"""

import os
import subprocess
import sys
import time
from collections import Counter

import pytest
from django.db import connection
from django.utils import timezone
from procrastinate.contrib.django import app

from supporters.models import ConsentRecord, Purpose, Supporter
from supporters.services import consent_set
from supporters.sms.models import TextMessage
from supporters.sms.services import text_queue
from tests.ops.servers import ROOT, database_url
from tests.supporters.sms.sms_stubs import AndroidStub, TwilioStub

pytestmark = pytest.mark.django_db(transaction=True)


def _sql(query: str, params=()) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        return cursor.fetchall() if cursor.description else []


def _start_worker(stub) -> subprocess.Popen:
    """One job at a time, so that each kill lands at the moment it names (with two, a kill
    also catches the other text wherever it is, at times in the instant between
    committing "sent" and writing the request's last byte: supporters/sms/http.py)."""
    env = dict(
        os.environ,
        DATABASE_URL=database_url(connection.settings_dict),
        SITE_URL="http://testserver",
        SOSEDI_MAP_REFRESH_CRON="",
        WORKER_LOG_LEVEL="WARNING",
        **stub.env(),
    )
    return subprocess.Popen(
        [sys.executable, "manage.py", "procrastinate", "worker", "--queues", "sms",
         "--concurrency", "1"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip


def _recover_stalled_jobs() -> int:
    """What the worker's periodic retry_stalled_jobs does 120 s after a worker's last
    heartbeat, done now: no worker is running, so every job left 'doing' is stalled."""
    stalled = _sql("SELECT id FROM procrastinate_jobs WHERE status = 'doing'")
    for (job_id,) in stalled:
        app.job_manager.retry_job_by_id(job_id, retry_at=timezone.now())
    return len(stalled)


def _queue_texts(make_supporter, n: int) -> list[TextMessage]:
    """A text to each of `n` people who accept texts (as the `texter` fixture makes them)."""
    people = []
    for i in range(n):
        person = make_supporter()
        Supporter.objects.filter(pk=person.pk).update(phone=f"+7916{5000000 + i:07d}")
        consent_set(
            supporter=person,
            purpose=Purpose.TEXT_MESSAGES,
            granted=True,
            source=ConsentRecord.Source.FORM,
        )
        person.refresh_from_db()
        people.append(person)
    _sql("TRUNCATE procrastinate_jobs, procrastinate_periodic_defers CASCADE")
    return [
        text_queue(supporter=p, kind="texting_faults", body=f"Сход у леса, {i}")
        for i, p in enumerate(people)
    ]


def _run_with_kills(stub, texts: list[TextMessage], *, timeout: float) -> tuple[int, int]:
    """Workers until every text is out, restarted after each kill; (restarts, recovered)."""
    restarts = recovered = 0
    deadline = time.monotonic() + timeout
    pending = TextMessage.objects.filter(status=TextMessage.Status.QUEUED)
    worker = _start_worker(stub)
    stub.worker_pid = worker.pid
    try:
        while pending.exists() or _sql("SELECT 1 FROM procrastinate_jobs WHERE status = 'doing'"):
            assert time.monotonic() < deadline, f"stuck: {Counter(stub.references())}"
            if worker.poll() is not None:  # killed: recover its job, start a new one
                restarts += 1
                recovered += _recover_stalled_jobs()
                worker = _start_worker(stub)
                stub.worker_pid = worker.pid
            time.sleep(0.1)
    finally:
        stub.worker_pid = None
        worker.terminate()
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
    return restarts, recovered


@pytest.mark.parametrize(
    ("stub_class", "n", "mid_body", "before_answer"),
    [(AndroidStub, 30, {5, 17}, {11, 24}), (TwilioStub, 10, {3}, {7})],
    ids=["android", "twilio"],
)
def test_a_worker_killed_mid_send_and_restarted_sends_each_text_exactly_once(
    stub_class, n, mid_body, before_answer, make_supporter
):
    with stub_class() as stub:
        texts = _queue_texts(make_supporter, n)
        stub.kill_mid_body, stub.kill_before_answer = mid_body, before_answer
        restarts, recovered = _run_with_kills(stub, texts, timeout=50)
        counts = Counter(stub.references())
        arrivals = stub.arrivals

    kills = len(mid_body) + len(before_answer)
    print(
        f"\n{n} texts, worker killed {stub.kills} times and restarted {restarts} times "
        f"({recovered} jobs recovered): {arrivals} requests begun, {len(counts)} texts "
        f"taken, {sum(counts.values())} copies, most of one text: {max(counts.values())}"
    )
    assert stub.kills == kills and restarts == kills and recovered == kills
    # Exactly once: every text taken by the gateway, none twice.
    assert set(counts) == {t.reference for t in texts}
    assert max(counts.values()) == 1, "never a second copy"
    assert TextMessage.objects.filter(status="sent").count() == n, "none left queued"
    # Killed waiting for the answer: the retried job asked the gateway, which had it.
    # Cut off mid-body: the text was sent again, whole (asked first if the kill came
    # after the commit of "sent"): one more request begun for each.
    assert not TextMessage.objects.filter(sent_at__isnull=True).exists()
    assert arrivals == n + len(mid_body)
    assert not _sql(
        "SELECT 1 FROM procrastinate_jobs WHERE status IN ('todo', 'doing')"
        " AND task_name = 'supporters.sms.tasks.deliver_text'"
    )
