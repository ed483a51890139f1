"""Mail to a segment reaches only those whose chosen topics and frequency it fits, and the
numbers shown before sending are the mails the worker sends."""

from datetime import timedelta

import pytest
from django.contrib.gis.geos import Point
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from supporters.models import OutboxMessage
from supporters.organize import selectors, services
from supporters.organize.audit import Actor
from supporters.organize.models import AuditEntry, Mailing, MailingRecipient, Segment


@pytest.fixture
def segment():
    return Segment.objects.create(
        name="Centre", centre=Point(37.62, 55.75, srid=4326), radius_km=10
    )


@pytest.fixture
def person(make_supporter):
    def make(email, *, frequency="daily", topics=(), consents=("email_updates",)):
        return make_supporter(
            email=email, consents=list(consents), frequency=frequency, topics=list(topics)
        )

    return make


def recipients(segment, **mailing):
    members = selectors.segment_members(segment=segment, for_mailing=True, **mailing)
    return sorted(members.values_list("email", flat=True))


def mailed(segment, *, days_ago, call_to_action=False):
    """A mailing addressed to everyone in the segment with consent, `days_ago` days ago."""
    mailing = services.mailing_start(
        segment=segment, subject="Earlier", body="Text", actor=Actor(user=None), call_to_action=True
    )
    services.mailing_prepare_batch(mailing_id=mailing.pk, batch=1000)
    Mailing.objects.filter(pk=mailing.pk).update(call_to_action=call_to_action)
    OutboxMessage.objects.filter(kind=f"mailing:{mailing.pk}").update(
        created_at=timezone.now() - timedelta(days=days_ago)
    )
    return mailing


@pytest.mark.django_db
def test_a_topic_reaches_those_who_chose_it_or_no_topic(segment, person):
    person("events@example.org", topics=["events", "city"])
    person("any@example.org", topics=[])
    person("green@example.org", topics=["environment"])
    person("no-consent@example.org", topics=["events"], consents=["public_map"])

    assert recipients(segment, topic="events") == ["any@example.org", "events@example.org"]
    assert recipients(segment, topic="environment") == ["any@example.org", "green@example.org"]
    # A general update goes to everyone with consent, whatever topics they chose.
    assert recipients(segment) == ["any@example.org", "events@example.org", "green@example.org"]
    audience = selectors.mailing_audience(segment=segment, topic="events")
    assert (audience.consenting, audience.recipients) == (3, 2)
    assert (audience.left_out_by_topic, audience.left_out_by_frequency) == (1, 0)


@pytest.mark.django_db
def test_calls_to_action_only_people_get_only_calls_to_action(segment, person):
    person("cta@example.org", frequency="calls_to_action")
    person("daily@example.org", frequency="daily")

    assert recipients(segment) == ["daily@example.org"]
    assert recipients(segment, call_to_action=True) == ["cta@example.org", "daily@example.org"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("frequency", "gap"), [("weekly", 7), ("monthly", 30)], ids=["weekly", "monthly"]
)
def test_weekly_and_monthly_people_wait_their_gap_after_a_mailing(segment, person, frequency, gap):
    person("capped@example.org", frequency=frequency)
    person("daily@example.org", frequency="daily")
    earlier = mailed(segment, days_ago=gap - 1)

    assert recipients(segment) == ["daily@example.org"]
    audience = selectors.mailing_audience(segment=segment)
    assert (audience.recipients, audience.left_out_by_frequency) == (1, 1)
    # A call to action goes out whatever the cap.
    assert recipients(segment, call_to_action=True) == ["capped@example.org", "daily@example.org"]

    OutboxMessage.objects.filter(kind=f"mailing:{earlier.pk}").update(
        created_at=timezone.now() - timedelta(days=gap, minutes=1)
    )
    assert recipients(segment) == ["capped@example.org", "daily@example.org"]


@pytest.mark.django_db
def test_daily_people_get_every_mailing(segment, person):
    person("daily@example.org", frequency="daily")
    mailed(segment, days_ago=0)
    mailed(segment, days_ago=0)
    assert recipients(segment) == ["daily@example.org"]


@pytest.mark.django_db
def test_a_call_to_action_does_not_count_against_the_caps(segment, person):
    person("weekly@example.org", frequency="weekly")
    person("monthly@example.org", frequency="monthly")
    mailed(segment, days_ago=1, call_to_action=True)
    assert recipients(segment) == ["monthly@example.org", "weekly@example.org"]


@pytest.mark.django_db(transaction=True)
def test_the_counts_shown_are_the_mails_the_worker_sends(
    segment, person, as_role, run_worker, mailoutbox, settings
):
    settings.SOSEDI_MAILING_BATCH = 2
    person("events-daily@example.org", topics=["events"])
    person("any-weekly@example.org", frequency="weekly")
    person("events-weekly-mailed@example.org", frequency="weekly", topics=["events"])
    person("events-monthly@example.org", frequency="monthly", topics=["events"])
    person("green-daily@example.org", topics=["environment"])
    person("cta-only@example.org", frequency="calls_to_action", topics=["events"])
    person("no-consent@example.org", topics=["events"], consents=["public_map"])
    # Three days ago one weekly person had a mailing (the others' copies are forgotten).
    earlier = mailed(segment, days_ago=3)
    OutboxMessage.objects.filter(kind=f"mailing:{earlier.pk}").exclude(
        to_email="events-weekly-mailed@example.org"
    ).delete()
    OutboxMessage.objects.update(status="sent")
    with connection.cursor() as cursor:
        cursor.execute("UPDATE procrastinate_jobs SET status = 'succeeded'")
    client = as_role("coordinator")
    url = reverse("organize:mailing_create", args=[segment.pk])
    form = {"subject": "Saturday", "body": "Hello {name}!", "topic": "events"}

    # Counting first: the page shows who gets it and who is left out, and why.
    page = client.post(url, form | {"count": "1", "confirm_count": 0})
    assert page.status_code == 200 and not Mailing.objects.filter(subject="Saturday").exists()
    audience = page.context["audience"]
    assert audience == selectors.MailingAudience(
        consenting=6, recipients=3, left_out_by_topic=1, left_out_by_frequency=2
    )
    text = page.content.decode()
    assert "Send to 3 people" in text and "1 of them is left out by topic" in text
    assert "2 are left out by frequency" in text

    # The counted numbers, sent as the page carries them, are what goes out.
    counted = page.context["mailing_form"].initial
    assert counted["counted_topic"] == "events" and counted["confirm_count"] == 3
    response = client.post(
        url, form | {"confirm_count": 3, "counted_topic": "events", "counted_call_to_action": ""}
    )
    mailing = Mailing.objects.get(subject="Saturday")
    assert response["Location"] == reverse("organize:mailing", args=[mailing.pk])
    assert (mailing.topic, mailing.call_to_action, mailing.recipients_total) == ("events", False, 3)
    run_worker(queues=["email"])
    assert MailingRecipient.objects.filter(mailing=mailing).count() == 3
    assert sorted(m.to[0] for m in mailoutbox) == [
        "any-weekly@example.org",
        "events-daily@example.org",
        "events-monthly@example.org",
    ]
    entry = AuditEntry.objects.get(action="mailing", filter__mailing=mailing.pk)
    assert entry.row_count == 3
    assert entry.filter["topic"] == "events" and entry.filter["call_to_action"] is False

    # Now everyone weekly or monthly has had this week's mailing; a call to action still
    # reaches them, and the 'only calls to action' person too, but not the other topic.
    mailoutbox.clear()
    cta = {"subject": "Sign today", "body": "Text", "topic": "events", "call_to_action": "on"}
    page = client.post(url, cta | {"count": "1", "confirm_count": 0})
    hidden = page.content.decode()
    assert 'name="counted_call_to_action" value="True"' in hidden
    assert 'name="confirm_count" value="5"' in hidden
    assert page.context["audience"] == selectors.MailingAudience(
        consenting=6, recipients=5, left_out_by_topic=1, left_out_by_frequency=0
    )
    client.post(
        url,
        cta | {"confirm_count": 5, "counted_topic": "events", "counted_call_to_action": "True"},
    )
    run_worker(queues=["email"])
    assert len(mailoutbox) == 5 and "green-daily@example.org" not in {m.to[0] for m in mailoutbox}
    assert Mailing.objects.get(subject="Sign today").recipients_total == 5


@pytest.mark.django_db
def test_numbers_counted_for_another_topic_are_shown_again_not_sent(segment, person, as_role):
    person("events@example.org", topics=["events"])
    person("green@example.org", topics=["environment"])
    client = as_role("coordinator")
    # The page was shown for a general update (2 people); the organizer then chose a topic.
    response = client.post(
        reverse("organize:mailing_create", args=[segment.pk]),
        {"subject": "Hi", "body": "Text", "topic": "events", "confirm_count": 2},
    )
    assert response.status_code == 400 and not Mailing.objects.exists()
    assert "With this topic and kind of mailing it reaches 1 people" in response.content.decode()
    assert response.context["mailing_form"].initial["confirm_count"] == 1


@pytest.mark.django_db
def test_the_segment_page_shows_who_a_general_update_reaches(segment, person, as_role):
    person("daily@example.org")
    person("cta@example.org", frequency="calls_to_action")
    page = as_role("coordinator").get(reverse("organize:segment", args=[segment.pk]))
    assert page.context["reachable"] == 2  # agreed to email updates
    assert page.context["audience"].recipients == 1
    assert page.context["mailing_form"].initial["confirm_count"] == 1
    assert "Send to 1 person" in page.content.decode()
