"""Two worker processes sending one bulk message at the same time deliver each mail
exactly once: what lets workers on several hosts share the PostgreSQL queue
(docs/SCALING.md). Real `manage.py procrastinate worker` processes, a real SMTP server
on 127.0.0.1 that counts what it receives."""

import asyncio
import os
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from django.contrib.gis.geos import Point
from django.db import connection

from supporters.models import OutboxMessage
from supporters.organize import services
from supporters.organize.audit import Actor
from supporters.organize.models import Mailing, MailingRecipient, Segment

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]
PEOPLE = 30


class CountingSMTP:
    """Accepts every message, slowly (so that the two workers overlap), and counts them."""

    def __init__(self):
        self.received: list[str] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        await asyncio.sleep(0.05)
        with self.lock:
            self.received.extend(envelope.rcpt_tos)
        return "250 OK"


@pytest.fixture
def smtp():
    handler = CountingSMTP()
    with socket.socket() as probe:  # a free port (the controller can't start on port 0)
        probe.bind(("127.0.0.1", 0))
        free = probe.getsockname()[1]
    controller = Controller(handler, hostname="127.0.0.1", port=free)
    controller.start()
    yield handler, controller.port
    controller.stop()


def _sql(query: str, params=()) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        return cursor.fetchall() if cursor.description else []


def _database_url() -> str:
    s = connection.settings_dict
    return f"postgis://{s['USER']}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def _start_worker(name: str, port: int) -> subprocess.Popen:
    env = dict(
        os.environ,
        DATABASE_URL=_database_url(),
        EMAIL_URL=f"smtp://127.0.0.1:{port}",
        SITE_URL="http://testserver",
        SOSEDI_MAILING_BATCH="4",
        SOSEDI_MAP_REFRESH_CRON="",
        WORKER_LOG_LEVEL="INFO",
    )
    command = [sys.executable, "manage.py", "procrastinate", "worker", "--name", name,
               "--queues", "email", "--concurrency", "2"]  # fmt: skip
    return subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def _wait_for(condition, *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def test_two_workers_sending_one_mailing_deliver_each_mail_exactly_once(make_supporter, smtp):
    handler, port = smtp
    for i in range(PEOPLE):
        make_supporter(lon=37.62, lat=55.75, email=f"reader{i}@example.org",
                       consents=["email_updates"])  # fmt: skip
    OutboxMessage.objects.all().delete()  # the fixtures' own confirmation mail
    _sql("TRUNCATE procrastinate_jobs, procrastinate_periodic_defers CASCADE")
    segment = Segment.objects.create(
        name="Centre", centre=Point(37.62, 55.75, srid=4326), radius_km=10
    )

    workers = [_start_worker(name, port) for name in ("worker-a", "worker-b")]
    try:
        _wait_for(
            lambda: _sql("SELECT count(*) FROM procrastinate_workers")[0][0] >= 2,
            timeout=90,
            what="both workers to register",
        )
        # Both are listening: queue the mailing, and the preparation job a second time,
        # as a retried stalled job would, so that the two prepare it at once as well.
        mailing = services.mailing_start(
            segment=segment, subject="Saturday", body="Hello {name}!", actor=Actor(user=None)
        )
        from supporters.organize.tasks import mailing_prepare

        mailing_prepare.defer(mailing_id=mailing.pk)

        def finished() -> bool:
            # (the workers also defer their periodic jobs, on other queues: not counted)
            (left,) = _sql(
                "SELECT count(*) FROM procrastinate_jobs"
                " WHERE queue_name = 'email' AND status IN ('todo', 'doing')"
            )[0]
            return left == 0 and OutboxMessage.objects.filter(status="sent").count() == PEOPLE

        _wait_for(finished, timeout=120, what="the mailing to be sent")
    finally:
        logs = []
        for worker in workers:
            worker.terminate()
            try:
                out, _ = worker.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                worker.kill()
                out, _ = worker.communicate()
            logs.append(out)

    expected = {f"reader{i}@example.org" for i in range(PEOPLE)}
    assert Counter(handler.received) == Counter(expected), "each reader gets exactly one mail"
    assert set(OutboxMessage.objects.values_list("status", flat=True)) == {"sent"}
    assert OutboxMessage.objects.count() == PEOPLE
    assert MailingRecipient.objects.filter(mailing=mailing).count() == PEOPLE
    mailing.refresh_from_db()
    assert mailing.status == Mailing.Status.SENDING and mailing.recipients_total == PEOPLE
    # Both processes did part of the work: it really was sent by two workers at once.
    for name, log in zip(("worker-a", "worker-b"), logs, strict=True):
        delivered = [x for x in log.splitlines() if "deliver_message" in x and "Success" in x]
        assert delivered, f"{name} delivered nothing:\n{log[-2000:]}"
