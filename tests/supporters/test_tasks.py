"""Mail delivery by the real procrastinate worker (jobs must be committed: transactional)."""

import pytest
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.db import connection

from supporters.models import OutboxMessage
from supporters.services import supporter_erase

pytestmark = pytest.mark.django_db(transaction=True)


class RefusingBackend(BaseEmailBackend):
    def send_messages(self, messages):
        raise ConnectionRefusedError("SMTP server refused the connection")


def _jobs():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT status, attempts, scheduled_at > now() FROM procrastinate_jobs "
            "WHERE task_name LIKE %s ORDER BY id",
            ["%deliver_message"],
        )
        return cursor.fetchall()


def test_the_worker_delivers_each_queued_mail_once(make_supporter, run_worker):
    supporter = make_supporter(status="pending")
    assert mail.outbox == []

    run_worker()
    run_worker()  # a second pass finds nothing left to send

    assert [m.to for m in mail.outbox] == [[supporter.email]]
    assert "/confirm/" in mail.outbox[0].body
    message = OutboxMessage.objects.get()
    assert message.status == "sent" and message.sent_at and message.attempts == 1


def test_a_refused_mail_is_kept_and_retried_later_with_backoff(
    make_supporter, run_worker, settings
):
    settings.EMAIL_BACKEND = f"{__name__}.RefusingBackend"
    make_supporter(status="pending")

    run_worker()
    message = OutboxMessage.objects.get()
    assert message.status == "queued"
    assert message.attempts == 1
    assert "refused" in message.last_error
    assert _jobs() == [("todo", 1, True)]  # rescheduled in the future, not lost

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    with connection.cursor() as cursor:
        cursor.execute("UPDATE procrastinate_jobs SET scheduled_at = now()")
    run_worker()

    message.refresh_from_db()
    assert message.status == "sent" and message.attempts == 2 and message.last_error == ""
    assert len(mail.outbox) == 1


def test_mail_of_an_erased_supporter_is_never_sent(make_supporter, run_worker):
    supporter = make_supporter(status="pending")
    supporter_erase(supporter=supporter)

    run_worker()

    assert mail.outbox == []
    assert _jobs() == [("succeeded", 1, None)]  # the job ran, found nothing to send
