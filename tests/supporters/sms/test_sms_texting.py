"""Texting a segment: who it reaches, its parts and cost, the checks before it starts, its
texts written once each through the worker, and quiet hours in each recipient's zone."""

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.contrib.gis.geos import Point
from django.db import DatabaseError, connection
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from supporters.organize.audit import Actor
from supporters.organize.models import AuditEntry, Segment
from supporters.sms import texting as service
from supporters.sms.models import Texting, TextMessage
from supporters.sms.parts import text_parts
from tests.supporters.organize import conftest as organize

# The organizer workspace's accounts (as_role) and its role groups.
_roles = organize._roles
make_staff = organize.make_staff
as_role = organize.as_role
_fast_passwords = organize._fast_passwords

pytestmark = pytest.mark.django_db

MOSCOW = {"lon": 37.62, "lat": 55.75}
VLADIVOSTOK = {"lon": 131.886, "lat": 43.116}
KALININGRAD = {"lon": 20.51, "lat": 54.71}


@pytest.fixture
def segment(db):
    return Segment.objects.create(
        name="Centre", centre=Point(37.62, 55.75, srid=4326), radius_km=10
    )


@pytest.fixture
def earlier(segment):
    """Another texting of a segment, whose texts count against the weekly limit."""
    return Texting.objects.create(segment=segment, body="Earlier")


def texts_sent(supporter, texting, *, n: int, days_ago: float = 1, status="sent"):
    """`n` texts to `supporter`, `days_ago`: from segment textings (`texting`, then others of
    its segment, one text each as texting_once wants), or with None answers to their texts."""
    for i in range(n):
        source = texting
        if texting is not None and i:
            source = Texting.objects.create(segment=texting.segment, body="Another")
        text = TextMessage.objects.create(
            supporter=supporter,
            texting=source,
            kind=f"texting:{source.pk}" if source else "sms_welcome",
            to_phone=supporter.phone,
            body="x",
            status=status,
        )
        TextMessage.objects.filter(pk=text.pk).update(
            created_at=timezone.now() - timedelta(days=days_ago)
        )


def jobs(task: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM procrastinate_jobs WHERE task_name LIKE %s", [f"%{task}"]
        )
        return cursor.fetchone()[0]


@pytest.fixture
def people(segment, texter, make_supporter, earlier, settings):
    """Three who get it; one without consent, one at a number that is not E.164, one who
    had their two texts this week, and one outside the area."""
    settings.SOSEDI_SMS_PER_WEEK = 2
    reached = [texter(**MOSCOW), texter(**MOSCOW, language="ru"), texter(**MOSCOW)]
    make_supporter(**MOSCOW, phone="+79160000001")  # no consent to texts
    texter(**MOSCOW, phone="8 916 000-00-02")  # consent, but not a number a text can reach
    full = texter(**MOSCOW)
    texts_sent(full, earlier, n=2)
    texter(lon=30.31, lat=59.94)  # Saint Petersburg: not in the segment
    return reached


def test_the_audience_is_members_who_accept_texts_at_a_number_under_the_weekly_limit(
    segment, people
):
    audience = service.texting_audience(segment=segment, body="Hello")
    assert (audience.consenting, audience.without_phone, audience.left_out_by_limit) == (5, 1, 1)
    assert audience.recipients == 3
    assert set(service.texting_members(segment=segment)) == set(people)
    by_language = {share.language: share.recipients for share in audience.languages}
    assert by_language == {"en": 2, "ru": 1}


def test_the_weekly_limit_counts_segment_texts_that_went_in_the_last_7_days(
    segment, texter, earlier, settings
):
    settings.SOSEDI_SMS_PER_WEEK = 2
    old = texter(**MOSCOW)
    texts_sent(old, earlier, n=2, days_ago=8)  # more than a week ago
    failed = texter(**MOSCOW)
    texts_sent(failed, earlier, n=2, status="failed")  # never reached them
    answers = texter(**MOSCOW)
    texts_sent(answers, None, n=3)  # answers to their own texts, not from segments
    one = texter(**MOSCOW)
    texts_sent(one, earlier, n=1, status="queued")  # one on its way: one more fits
    two = texter(**MOSCOW)
    texts_sent(two, earlier, n=2, status="delivered")
    assert set(service.texting_members(segment=segment)) == {old, failed, answers, one}
    settings.SOSEDI_SMS_PER_WEEK = 1
    assert set(service.texting_members(segment=segment)) == {old, failed, answers}


def footer(language: str) -> str:
    with translation.override(language):
        return _("Reply STOP to stop these texts.")


@pytest.mark.parametrize("language", ["en", "ru"])
def test_parts_count_the_footer_in_the_recipients_language(language):
    room = 160 - len("\n" + footer(language))  # the English footer is GSM-7
    gsm = service.texting_parts(body="a" * room, language=language)
    text = "a" * room + "\n" + footer(language)
    assert service.texting_text(body="a" * room, language=language) == text
    assert gsm == text_parts(text)
    if text_parts(footer(language)).encoding == "GSM-7":
        assert (gsm.encoding, gsm.length, gsm.parts) == ("GSM-7", 160, 1)
        longer = service.texting_parts(body="a" * (room + 1), language=language)
        assert (longer.length, longer.parts) == (161, 2)


def test_cyrillic_is_ucs2_at_70_a_part_and_67_when_split():
    room = 70 - len("\n" + footer("en"))
    one = service.texting_parts(body="ж" * room, language="en")
    assert (one.encoding, one.length, one.parts) == ("UCS-2", 70, 1)
    two = service.texting_parts(body="ж" * (room + 1), language="en")
    assert (two.length, two.parts) == (71, 2)
    body = "ж" * (2 * 67 + 1 - len("\n" + footer("en")))
    three = service.texting_parts(body=body, language="en")
    assert (three.length, three.parts) == (135, 3)


def test_gsm_extension_characters_count_two():
    room = 160 - len("\n" + footer("en"))
    euros = service.texting_parts(body="€" * 10, language="en")
    assert (euros.encoding, euros.length) == ("GSM-7", 20 + 160 - room)
    text = "[x]" + "a" * (room - 4)  # the brackets take two each: one over 160
    parts = service.texting_parts(body=text, language="en")
    assert (parts.encoding, parts.length, parts.parts) == ("GSM-7", 161, 2)


def test_an_empty_text_takes_no_parts():
    assert service.texting_parts(body="", language="en").parts == 0


def test_the_cost_is_the_parts_of_each_recipients_text_times_the_price(segment, people, settings):
    settings.SOSEDI_SMS_PRICE_PER_PART = 0.07
    body = "ж" * 60  # with the footer, two parts in every language
    audience = service.texting_audience(segment=segment, body=body)
    expected = sum(
        share.recipients * service.texting_parts(body=body, language=share.language).parts
        for share in audience.languages
    )
    assert expected == audience.parts_total == 6
    assert audience.cost == Decimal("0.42")

    texting = service.texting_start(
        segment=segment, body=body, confirm_count=3, actor=Actor(user=None)
    )
    assert (texting.parts_total, texting.cost_estimate) == (6, Decimal("0.42"))


def test_the_form_shows_the_counts_and_the_cost_with_its_currency(
    segment, people, as_role, settings
):
    settings.SOSEDI_SMS_CURRENCY = "RUB"
    client = as_role("coordinator")
    page = client.get(reverse("sms:texting_new", args=[segment.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="texting-recipients">3<' in html and "RUB" in html
    assert 'name="confirm_count" value="3"' in html
    assert "1 is left out by the weekly limit" in html
    assert 'src="/static/js/sms-count.js"' in html
    assert not re.search(r"<script(?![^>]*\bsrc=)", html)  # no inline script (CSP)


def test_a_text_over_the_parts_limit_is_refused_and_nothing_is_written(
    segment, people, as_role, settings
):
    settings.SOSEDI_SMS_MAX_PARTS = 2
    client = as_role("coordinator")
    url = reverse("sms:texting_new", args=[segment.pk])
    texts = TextMessage.objects.count()
    too_long = client.post(url, {"body": "ж" * 140, "confirm_count": 3})
    assert too_long.status_code == 400
    assert "takes 3 parts; at most 2 are allowed" in too_long.content.decode()
    empty = client.post(url, {"body": "  \r\n ", "confirm_count": 3})
    assert empty.status_code == 400 and "Write the text." in empty.content.decode()
    assert sorted(Texting.objects.values_list("body", flat=True)) == ["Another", "Earlier"]
    assert TextMessage.objects.count() == texts
    assert not AuditEntry.objects.filter(action=AuditEntry.Action.TEXTING).exists()
    assert jobs("texting_prepare") == 0


def test_a_segment_that_changed_since_it_was_counted_is_shown_again_not_sent(
    segment, people, as_role
):
    client = as_role("coordinator")
    url = reverse("sms:texting_new", args=[segment.pk])
    response = client.post(url, {"body": "Saturday, 12:00", "confirm_count": 4})
    assert response.status_code == 400
    html = response.content.decode()
    assert "it now reaches 3 people" in html
    assert 'name="confirm_count" value="3"' in html and "Saturday, 12:00" in html
    assert not Texting.objects.filter(body="Saturday, 12:00").exists()
    again = client.post(url, {"body": "Saturday, 12:00", "confirm_count": 3})
    texting = Texting.objects.get(body="Saturday, 12:00")
    assert again["Location"] == reverse("sms:texting", args=[texting.pk])


@pytest.mark.django_db(transaction=True)
def test_the_texting_its_audit_entry_and_its_job_commit_together(segment, people, as_role):
    client = as_role("coordinator")
    url = reverse("sms:texting_new", args=[segment.pk])
    before = jobs("texting_prepare")
    with organize.inserts_refused("supporters_auditentry"), pytest.raises(DatabaseError):
        client.post(url, {"body": "Saturday", "confirm_count": 3})
    assert not Texting.objects.filter(body="Saturday").exists()
    assert jobs("texting_prepare") == before

    client.post(url, {"body": "Saturday", "confirm_count": 3})
    texting = Texting.objects.get(body="Saturday")
    entry = AuditEntry.objects.get(action=AuditEntry.Action.TEXTING)
    assert entry.filter == {**segment.describe(), "texting": texting.pk}
    assert entry.row_count == 3 and entry.actor == "coordinator-user"
    assert jobs("texting_prepare") == before + 1


def requeue_every_job():
    with connection.cursor() as cursor:
        cursor.execute("UPDATE procrastinate_jobs SET status = 'todo', attempts = 0")


@pytest.mark.django_db(transaction=True)
def test_the_worker_writes_one_text_per_person_once_even_prepared_twice(
    segment, texter, run_worker, settings
):
    settings.SOSEDI_MAILING_BATCH = 2
    settings.SOSEDI_SMS_QUIET_HOURS = ()  # whatever the hour the test runs at
    people = [texter(**MOSCOW, language="ru" if i % 2 else "en") for i in range(5)]
    texting = service.texting_start(
        segment=segment, body="Субботник в парке", confirm_count=5, actor=Actor(user=None)
    )
    # A first worker writes one batch and dies before sending anything ...
    assert service.texting_prepare_batch(texting_id=texting.pk, batch=2) == 2
    # ... the next one runs the queue: the preparation goes on from the third person.
    run_worker(queues=["sms"])
    # A restart that runs every job again, finished or not, writes and sends nothing new.
    requeue_every_job()
    run_worker(queues=["sms"])
    assert service.texting_prepare_batch(texting_id=texting.pk, batch=100) == 0

    texts = TextMessage.objects.filter(texting=texting)
    assert sorted(t.supporter_id for t in texts) == sorted(p.pk for p in people)
    assert {t.status for t in texts} == {"sent"} and {t.gateway for t in texts} == {"outbox"}
    assert {t.kind for t in texts} == {f"texting:{texting.pk}"}
    for text in texts.select_related("supporter"):
        language = text.supporter.language
        assert text.body == "Субботник в парке\n" + footer(language)
        assert text.to_phone == text.supporter.phone
        assert text.parts == text_parts(text.body).parts
    texting.refresh_from_db()
    assert texting.status == Texting.Status.SENDING and texting.recipients_total == 5


@pytest.mark.django_db(transaction=True)
def test_the_weekly_limit_is_applied_again_when_the_texts_are_written(
    segment, texter, run_worker, settings
):
    settings.SOSEDI_SMS_PER_WEEK = 1
    settings.SOSEDI_SMS_QUIET_HOURS = ()
    first, second = texter(**MOSCOW), texter(**MOSCOW)
    texting = service.texting_start(
        segment=segment, body="Saturday", confirm_count=2, actor=Actor(user=None)
    )
    # Another segment's text reaches the second person before this one is prepared.
    other = Texting.objects.create(segment=segment, body="Meanwhile")
    texts_sent(second, other, n=1)
    run_worker(queues=["sms"])
    assert list(
        TextMessage.objects.filter(texting=texting).values_list("supporter", flat=True)
    ) == [first.pk]
    texting.refresh_from_db()
    assert texting.recipients_total == 1


def test_quiet_hours_hold_a_text_until_nine_in_the_recipients_own_zone(texter, settings):
    """13:00 UTC: 23:00 in Vladivostok (quiet), 15:00 in Kaliningrad (not)."""
    settings.SOSEDI_SMS_QUIET_HOURS = (21, 9)
    everywhere = Segment.objects.create(name="Everywhere", tags=[])
    east, west = texter(**VLADIVOSTOK), texter(**KALININGRAD)
    now = datetime(2026, 3, 10, 13, 0, tzinfo=UTC)
    assert now.astimezone(ZoneInfo("Asia/Vladivostok")).hour == 23
    texting = service.texting_start(
        segment=everywhere, body="Hello", confirm_count=2, actor=Actor(user=None), now=now
    )
    assert service.texting_prepare_batch(texting_id=texting.pk, batch=10, now=now) == 2
    held = TextMessage.objects.get(texting=texting, supporter=east)
    local = held.not_before.astimezone(ZoneInfo("Asia/Vladivostok"))
    assert (local.date().isoformat(), local.hour, local.minute) == ("2026-03-11", 9, 0)
    assert TextMessage.objects.get(texting=texting, supporter=west).not_before is None
    # The held text's delivery job waits for that hour; the other goes now.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT args->>'text_id', scheduled_at FROM procrastinate_jobs"
            " WHERE task_name LIKE '%%deliver_text'"
        )
        scheduled = {int(pk): at for pk, at in cursor.fetchall()}
    assert scheduled[held.pk] == held.not_before
    assert scheduled[TextMessage.objects.get(texting=texting, supporter=west).pk] is None


def test_the_texting_page_shows_progress_and_its_send_log_audited(segment, people, as_role):
    client = as_role("coordinator")
    texting = service.texting_start(
        segment=segment, body="Saturday", confirm_count=3, actor=Actor(user=None)
    )
    progress_url = reverse("sms:texting_progress", args=[texting.pk])
    assert client.get(progress_url).json()["status"] == "preparing"
    day = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)  # noon in Moscow
    assert service.texting_prepare_batch(texting_id=texting.pk, batch=2, now=day) == 2
    assert service.texting_prepare_batch(texting_id=texting.pk, batch=2, now=day) == 1
    assert service.texting_prepare_batch(texting_id=texting.pk, batch=2, now=day) == 0
    texts = list(TextMessage.objects.filter(texting=texting).order_by("pk"))
    TextMessage.objects.filter(pk=texts[0].pk).update(status="delivered")
    TextMessage.objects.filter(pk=texts[1].pk).update(status="failed")
    progress = client.get(progress_url).json()
    assert (progress["total"], progress["delivered"], progress["failed"], progress["queued"]) == (
        3,
        1,
        1,
        1,
    )
    assert progress["status"] == "sending" and progress["percent"] == 67
    TextMessage.objects.filter(pk=texts[2].pk).update(status="cancelled")
    assert client.get(progress_url).json()["status"] == "done"

    page = client.get(reverse("sms:texting", args=[texting.pk]))
    assert page.status_code == 200
    assert texts[2].to_phone in page.content.decode()
    viewed = AuditEntry.objects.get(action=AuditEntry.Action.VIEW_PEOPLE)
    assert viewed.filter == {"texting": texting.pk, "send_log": True} and viewed.row_count == 3


def test_organizers_may_not_text_and_coordinators_may(segment, people, as_role):
    texting = service.texting_start(
        segment=segment, body="Saturday", confirm_count=3, actor=Actor(user=None)
    )
    urls = [
        reverse("sms:texting_new", args=[segment.pk]),
        reverse("sms:texting", args=[texting.pk]),
        reverse("sms:texting_progress", args=[texting.pk]),
    ]
    organizer = as_role("organizer")
    assert [organizer.get(u).status_code for u in urls] == [403, 403, 403]
    assert organizer.post(urls[0], {"body": "x", "confirm_count": 3}).status_code == 403
    segment_page = organizer.get(reverse("organize:segment", args=[segment.pk]))
    assert urls[0] not in segment_page.content.decode()

    coordinator = as_role("coordinator")
    assert [coordinator.get(u).status_code for u in urls] == [200, 200, 200]
    assert (
        urls[0] in coordinator.get(reverse("organize:segment", args=[segment.pk])).content.decode()
    )
    assert Texting.objects.filter(body="x").count() == 0
