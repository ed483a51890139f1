"""Mail to a segment: only email-update consent, one-click unsubscribe, one copy each
even when the worker is restarted mid-send."""

import pytest
from django.contrib.gis.geos import Point
from django.db import DatabaseError, connection
from django.test import Client
from django.urls import reverse

from supporters import links
from supporters.models import OutboxMessage, Supporter
from supporters.organize import services
from supporters.organize.audit import Actor
from supporters.organize.models import AuditEntry, Mailing, MailingRecipient, Segment

from .conftest import inserts_refused


@pytest.fixture
def segment_with_people(make_supporter):
    for i in range(6):
        make_supporter(
            lon=37.62, lat=55.75, email=f"yes{i}@example.org", consents=["email_updates"]
        )
    make_supporter(lon=37.62, lat=55.75, email="no-consent@example.org", consents=["public_map"])
    make_supporter(lon=37.62, lat=55.75, email="left@example.org", consents=["email_updates"],
                   status=Supporter.Status.UNSUBSCRIBED)  # fmt: skip
    make_supporter(lon=30.31, lat=59.94, email="far@example.org", consents=["email_updates"])
    OutboxMessage.objects.all().delete()  # confirmation and welcome mail of the fixtures
    return Segment.objects.create(
        name="Centre", centre=Point(37.62, 55.75, srid=4326), radius_km=10
    )


def requeue_every_job():
    """What a restarted worker could see at worst: every job to be done again."""
    with connection.cursor() as cursor:
        cursor.execute("UPDATE procrastinate_jobs SET status = 'todo', attempts = 0")


@pytest.mark.django_db(transaction=True)
def test_each_recipient_gets_exactly_one_mail_across_a_worker_restart(
    segment_with_people, run_worker, mailoutbox, settings
):
    settings.SOSEDI_MAILING_BATCH = 2
    mailing = services.mailing_start(
        segment=segment_with_people,
        subject="Saturday",
        body="Hello {name}!",
        actor=Actor(user=None),
    )
    assert mailing.recipients_total == 6
    # The first worker addresses one batch and dies before delivering anything.
    assert services.mailing_prepare_batch(mailing_id=mailing.pk, batch=2) == 2
    # A new worker runs the queue (the preparation job goes on from the third person) ...
    run_worker(queues=["email"])
    assert len(mailoutbox) == 6
    # ... and a second restart that re-runs every job, finished or not, sends nothing new.
    requeue_every_job()
    run_worker(queues=["email"])

    recipients = sorted(m.to[0] for m in mailoutbox)
    assert recipients == [f"yes{i}@example.org" for i in range(6)]
    assert MailingRecipient.objects.filter(mailing=mailing).count() == 6
    assert set(OutboxMessage.objects.values_list("status", flat=True)) == {"sent"}
    mailing.refresh_from_db()
    assert mailing.status == Mailing.Status.SENDING and mailing.recipients_total == 6

    message = next(m for m in mailoutbox if m.to == ["yes0@example.org"])
    link = message.extra_headers["List-Unsubscribe"].strip("<>")
    assert link.startswith("http://testserver/unsubscribe/") and link in message.body
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message.body.startswith("Hello Test!")
    # Every recipient's link is their own.
    links = {m.extra_headers["List-Unsubscribe"] for m in mailoutbox}
    assert len(links) == 6


@pytest.mark.django_db
def test_the_progress_page_reports_the_send_log(segment_with_people, as_role):
    client = as_role("coordinator")
    response = client.post(
        reverse("organize:mailing_create", args=[segment_with_people.pk]),
        {"subject": "Hi", "body": "Text", "confirm_count": 6},
    )
    mailing = Mailing.objects.get()
    assert response["Location"] == reverse("organize:mailing", args=[mailing.pk])
    services.mailing_prepare_batch(mailing_id=mailing.pk, batch=100)
    OutboxMessage.objects.filter(to_email="yes0@example.org").update(status="sent")
    progress = client.get(reverse("organize:mailing_progress", args=[mailing.pk])).json()
    assert progress["total"] == 6 and progress["sent"] == 1 and progress["queued"] == 5
    assert progress["status"] == "preparing"
    services.mailing_prepare_batch(mailing_id=mailing.pk, batch=100)  # finds nobody new
    OutboxMessage.objects.update(status="sent")
    done = client.get(reverse("organize:mailing_progress", args=[mailing.pk])).json()
    assert done["status"] == "done" and done["percent"] == 100
    page = client.get(reverse("organize:mailing", args=[mailing.pk]))
    assert b"yes3@example.org" in page.content
    # The send log names people, so looking at it is audited like any list of people.
    viewed = AuditEntry.objects.filter(action="view_people").get()
    assert viewed.filter == {"mailing": mailing.pk, "send_log": True} and viewed.row_count == 6


@pytest.mark.django_db
def test_a_segment_that_changed_since_the_page_was_shown_is_not_sent(segment_with_people, as_role):
    response = as_role("coordinator").post(
        reverse("organize:mailing_create", args=[segment_with_people.pk]),
        {"subject": "Hi", "body": "Text", "confirm_count": 99},
    )
    assert response.status_code == 400 and not Mailing.objects.exists()


@pytest.mark.django_db
def test_one_click_unsubscribe_withdraws_email_updates_only(make_supporter):
    person = make_supporter(consents=["email_updates", "public_map"])
    token = links.UNSUBSCRIBE.make(person.pk)
    url = reverse("organize:unsubscribe", args=[token])
    client = Client(enforce_csrf_checks=True)  # mail clients send no CSRF token
    assert client.get(url).status_code == 200
    person.refresh_from_db()
    assert person.consent_email_updates  # a GET (a link scanner) changes nothing
    assert client.post(url, {"List-Unsubscribe": "One-Click"}).status_code == 200
    person.refresh_from_db()
    assert not person.consent_email_updates and person.consent_public_map
    record = person.consent_records.first()
    assert (record.purpose, record.granted, record.source) == ("email_updates", False, "email_link")
    assert client.get(url[:-5] + "xxxx/").status_code == 404


@pytest.mark.django_db(transaction=True)
def test_a_job_left_running_by_a_killed_worker_is_put_back_and_finishes(
    segment_with_people, run_worker, mailoutbox
):
    from supporters.organize.tasks import retry_stalled_jobs

    services.mailing_start(
        segment=segment_with_people, subject="Hi", body="Text", actor=Actor(user=None)
    )
    with connection.cursor() as cursor:
        # The worker took the preparation job and died: 'doing', and no live worker.
        cursor.execute("UPDATE procrastinate_jobs SET status = 'doing', worker_id = NULL")
    run_worker(queues=["email"])
    assert mailoutbox == []  # nobody picks up a job that is 'doing'
    retry_stalled_jobs.defer(timestamp=0)
    run_worker(queues=["maintenance"])
    run_worker(queues=["email"])
    assert sorted(m.to[0] for m in mailoutbox) == [f"yes{i}@example.org" for i in range(6)]


def _preparation_jobs() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM procrastinate_jobs WHERE task_name LIKE '%mailing_prepare'"
        )
        return cursor.fetchone()[0]


@pytest.mark.django_db(transaction=True)
def test_a_mailing_whose_audit_entry_fails_is_not_stored_nor_sent(segment_with_people, as_role):
    """The mailing, its audit entry and its preparation job commit together or not at all."""
    client = as_role("coordinator")
    jobs = _preparation_jobs()
    with inserts_refused("supporters_auditentry"), pytest.raises(DatabaseError):
        client.post(
            reverse("organize:mailing_create", args=[segment_with_people.pk]),
            {"subject": "Hi", "body": "Text", "confirm_count": 6},
        )
    assert not Mailing.objects.exists() and not AuditEntry.objects.exists()
    assert _preparation_jobs() == jobs

    client.post(
        reverse("organize:mailing_create", args=[segment_with_people.pk]),
        {"subject": "Hi", "body": "Text", "confirm_count": 6},
    )
    mailing = Mailing.objects.get()
    entry = AuditEntry.objects.get(action="mailing")
    assert (entry.filter["mailing"], entry.row_count) == (mailing.pk, 6)
    assert _preparation_jobs() == jobs + 1
