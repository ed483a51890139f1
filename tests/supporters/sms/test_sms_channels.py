"""Event invitations, reminders and group mail go by text to people whose channel is
texts (reached_by_text), once each, through the worker; everyone else gets the mail."""

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from supporters.groups import services as groups
from supporters.groups.texts import group_mail_text
from supporters.models import OutboxMessage
from supporters.nearby import services as nearby
from supporters.nearby.models import Event, Rsvp
from supporters.sms.models import TextMessage
from supporters.sms.parts import text_parts
from tests.supporters.groups.conftest import draft
from tests.supporters.nearby.conftest import MOSCOW, event_draft


@pytest.fixture(autouse=True)
def _no_quiet_hours(settings):
    settings.SOSEDI_SMS_QUIET_HOURS = ()
    settings.SOSEDI_SMS_GATEWAY = "outbox"


def _event(host, moderator_user, *, days=3):
    start = timezone.now() + timedelta(days=days)
    event = nearby.event_propose(host=host, draft=event_draft(starts_at=start))
    return nearby.event_review(event=event, approve=True, reviewer=moderator_user)


def _near(n: int) -> dict:
    return {"lon": MOSCOW[0] + 0.01 * n, "lat": MOSCOW[1]}


@pytest.mark.django_db(transaction=True)
def test_invitations_and_reminders_go_by_text_to_texters_and_by_mail_to_the_rest_once(
    activist, make_supporter, texter, moderator, run_worker
):
    host = activist(name="Host")
    by_text = texter(channel="phone", consents=["event_invitations"], language="ru", **_near(1))
    by_mail = make_supporter(consents=["event_invitations"], **_near(2))
    # Texts allowed but email chosen as the channel: the mail, as before.
    texts_but_mail = texter(channel="email", consents=["event_invitations"], **_near(3))
    event = _event(host, moderator.user)
    run_worker()  # the invitations job, then the texts' and mails' deliveries
    run_worker()

    (text,) = TextMessage.objects.filter(kind="nearby_event_invitation")
    assert (text.supporter, text.to_phone, text.status) == (by_text, by_text.phone, "sent")
    assert text.gateway == "outbox" and text.parts <= 4
    rsvp = Rsvp.objects.get(event=event, supporter=by_text)
    assert rsvp.invited_at is not None
    assert "Tree planting" in text.body and "/events/rsvp/" in text.body
    assert event.zone_label in text.body  # the time in the event's own zone, named
    assert not OutboxMessage.objects.filter(supporter=by_text, kind="nearby_event_invitation")
    for person in (by_mail, texts_but_mail):
        assert OutboxMessage.objects.filter(supporter=person, kind="nearby_event_invitation")
        assert not TextMessage.objects.filter(supporter=person)

    # Invited once: sending again (a job run twice) writes nothing more.
    assert nearby.event_invitations_send(event=event) == 0
    assert TextMessage.objects.filter(kind="nearby_event_invitation").count() == 1

    nearby.rsvp_answer(event=event, supporter=by_text, answer="yes")
    nearby.rsvp_answer(event=event, supporter=by_mail, answer="maybe")
    soon = timezone.now() + timedelta(hours=20)
    Event.objects.filter(pk=event.pk).update(starts_at=soon, ends_at=soon + timedelta(hours=2))
    assert nearby.event_reminders_send() == 3  # the host, by_text, by_mail
    assert nearby.event_reminders_send() == 0  # once per event
    run_worker()
    (reminder,) = TextMessage.objects.filter(kind="nearby_event_reminder")
    assert reminder.supporter == by_text and reminder.status == "sent"
    assert "Tree planting" in reminder.body and "/events/rsvp/" in reminder.body
    assert (
        OutboxMessage.objects.filter(supporter=by_mail, kind="nearby_event_reminder").count() == 1
    )
    assert not OutboxMessage.objects.filter(supporter=by_text, kind="nearby_event_reminder")


@pytest.mark.django_db
def test_an_invitation_text_waits_for_the_quiet_hours_in_the_events_zone(
    activist, texter, moderator, settings
):
    settings.SOSEDI_SMS_QUIET_HOURS = (21, 9)
    host = activist()
    by_text = texter(channel="phone", consents=["event_invitations"], **_near(1))
    event = _event(host, moderator.user)
    nearby.event_invitations_send(event=event)
    text = TextMessage.objects.get(supporter=by_text)
    local_hour = timezone.now().astimezone(ZoneInfo(event.timezone)).hour
    quiet = local_hour >= 21 or local_hour < 9
    assert (text.not_before is not None) is quiet
    if quiet:
        assert text.not_before.astimezone(ZoneInfo(event.timezone)).hour == 9


@pytest.mark.django_db(transaction=True)
def test_group_mail_goes_by_text_to_texters_shortened_to_fit_and_by_mail_to_others(
    activist, texter, run_worker, settings
):
    settings.SOSEDI_SMS_MAX_PARTS = 2
    founder = activist(name="Анна Лидер")
    group = groups.group_propose(founder=founder, draft=draft())
    group = groups.group_review(group=group, decision="approve", note="", reviewer=None)
    by_text = texter(channel="phone", consents=["event_invitations"], language="ru")
    by_mail = activist()
    for person in (by_text, by_mail):
        groups.group_join(group=group, supporter=person, shares_contact=False)
    body = "Субботник в парке в субботу. " * 40  # far more than two parts
    mail = groups.group_mail_send(group=group, sender=founder, subject="Субботник", body=body)
    assert mail.recipients == 2
    run_worker()

    (text,) = TextMessage.objects.filter(kind=f"group_mail:{mail.pk}")
    assert text.supporter == by_text and text.status == "sent"
    assert text.body.startswith("[Соседи Хамовников] Субботник: Субботник в парке")
    assert "(сокращено)" in text.body or "(shortened)" in text.body
    assert f"/groups/{group.pk}/" in text.body
    assert text.parts == text_parts(text.body).parts <= 2
    assert not OutboxMessage.objects.filter(supporter=by_text, kind__startswith="group_mail")
    assert (
        OutboxMessage.objects.filter(supporter=by_mail, kind=f"group_mail:{mail.pk}").count() == 1
    )


@pytest.mark.django_db
def test_a_short_group_mail_is_texted_whole(activist, settings):
    founder = activist()
    group = groups.group_propose(founder=founder, draft=draft())
    group = groups.group_review(group=group, decision="approve", note="", reviewer=None)
    mail = groups.group_mail_send(group=group, sender=founder, subject="Hi", body="See you\nsoon")
    text = group_mail_text(mail, language="en")
    assert text.startswith("[Соседи Хамовников] Hi: See you soon ")
    assert "shortened" not in text and text.endswith(f"/groups/{group.pk}/")
