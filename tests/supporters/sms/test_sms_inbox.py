# ruff: noqa: F811 (the workspace's role fixtures, imported, are arguments of the tests)
"""The coordinators' inbox of received texts (/organize/texts/inbox/): who may see it,
what it shows and in which order, the audit entry of every look, marking a text done."""

from datetime import timedelta

import pytest
from django.utils import timezone

from supporters.organize.models import AuditEntry
from supporters.sms.gateways import Received
from supporters.sms.inbound import text_received
from supporters.sms.models import InboundText
from tests.supporters.organize.conftest import (  # noqa: F401 (fixtures)
    _fast_passwords,
    _roles,
    as_role,
    make_staff,
)

pytestmark = pytest.mark.django_db

URL = "/organize/texts/inbox/"


def receive(phone: str, body: str) -> InboundText:
    return text_received(
        gateway="outbox", received=Received(from_phone=phone, body=body, gateway_id="")
    )


def rows(response) -> list[int]:
    """The texts the page shows, top to bottom."""
    html = response.content.decode()
    found = []
    for part in html.split('id="text-')[1:]:
        found.append(int(part.split('"', 1)[0]))
    return found


def test_only_those_who_may_see_people_open_the_inbox(as_role, client):
    text = receive("+79035550101", "hello")
    organizer = as_role("organizer")
    assert organizer.get(URL).status_code == 403
    assert organizer.post(f"{URL}{text.pk}/done/").status_code == 403
    assert client.get(URL).status_code in (302, 403)
    assert as_role("coordinator").get(URL).status_code == 200
    assert as_role("admin").get(URL).status_code == 200
    text.refresh_from_db()
    assert text.done_at is None
    # The organizer's menu has no link to it; the coordinator's has.
    dashboard = organizer.get("/organize/")
    assert dashboard.status_code == 200
    assert URL not in dashboard.content.decode()
    assert "/organize/texts/survey/" not in dashboard.content.decode()


def test_the_workspace_menu_links_to_the_inbox_and_the_survey(as_role):
    page = as_role("coordinator").get("/organize/").content.decode()
    assert f'href="{URL}"' in page
    assert 'href="/organize/texts/survey/"' in page


def test_the_inbox_shows_only_inbox_texts_with_the_sender_and_their_person_page(as_role, texter):
    person = texter(name="Anna Petrova", phone="+79161234567")
    mine = receive(person.phone, "Can I bring my neighbour on Sunday?")
    stranger = receive("+79035550101", "Who is this? <script>alert(1)</script>")
    receive(person.phone, "STOP")  # handled: not for the inbox
    receive("+79035550102", "JOIN Kazan")

    response = as_role("coordinator").get(URL)
    html = response.content.decode()

    assert sorted(rows(response)) == sorted([mine.pk, stranger.pk])
    assert "+7 916 123-45-67" in html  # the number as people write it
    assert "Anna Petrova" in html
    assert "Can I bring my neighbour on Sunday?" in html
    assert "&lt;script&gt;" in html and "<script>alert(1)" not in html
    assert "not on the list" in html


def test_the_person_link_is_their_workspace_page(as_role, texter):
    from django.urls import reverse

    person = texter(name="Anna Petrova")
    receive(person.phone, "hello")
    html = as_role("coordinator").get(URL).content.decode()
    assert f'href="{reverse("organize:person", args=[person.pk])}"' in html


def test_open_texts_first_newest_first(as_role):
    texts = [receive(f"+7903555010{n}", f"text {n}") for n in range(4)]
    now = timezone.now()
    for n, text in enumerate(texts):
        InboundText.objects.filter(pk=text.pk).update(received_at=now - timedelta(hours=10 - n))
    InboundText.objects.filter(pk=texts[3].pk).update(done_at=now)  # the newest, done
    InboundText.objects.filter(pk=texts[0].pk).update(done_at=now)

    response = as_role("coordinator").get(URL)
    assert rows(response) == [texts[2].pk, texts[1].pk, texts[3].pk, texts[0].pk]


def test_every_look_is_in_the_audit_log_with_the_rows_shown(as_role, make_staff):
    for n in range(3):
        receive(f"+7903555010{n}", f"text {n}")
    coordinator = as_role("coordinator")
    coordinator.get(URL)
    coordinator.get(URL)

    entries = list(AuditEntry.objects.filter(action=AuditEntry.Action.VIEW_PEOPLE))
    assert len(entries) == 2
    for entry in entries:
        assert entry.filter == {"inbox": True}
        assert entry.row_count == 3
        assert entry.actor == "coordinator-user"
    as_role("organizer").get(URL)  # refused: nothing was shown, nothing recorded
    assert AuditEntry.objects.filter(action=AuditEntry.Action.VIEW_PEOPLE).count() == 2


def test_an_empty_inbox_is_recorded_as_no_rows(as_role):
    response = as_role("coordinator").get(URL)
    assert "No texts received yet." in response.content.decode()
    assert AuditEntry.objects.get().row_count == 0


def test_done_marks_the_text_done_by_whom_once(as_role, django_user_model):
    text = receive("+79035550101", "hello")
    first = as_role("coordinator")
    response = first.post(f"{URL}{text.pk}/done/")
    assert response.status_code == 302 and response["Location"] == URL
    text.refresh_from_db()
    assert text.done_at is not None
    assert text.done_by.username == "coordinator-user"
    when = text.done_at

    # A second coordinator's click, in another tab, changes nothing.
    as_role("admin").post(f"{URL}{text.pk}/done/")
    text.refresh_from_db()
    assert (text.done_at, text.done_by.username) == (when, "coordinator-user")
    html = first.get(URL).content.decode()
    assert "done by coordinator-user" in html
    assert f'action="{URL}{text.pk}/done/"' not in html


def test_done_is_a_post_for_an_inbox_text_that_exists(as_role):
    coordinator = as_role("coordinator")
    text = receive("+79035550101", "hello")
    stop = receive("+79035550102", "STOP")
    assert coordinator.get(f"{URL}{text.pk}/done/").status_code == 405
    assert coordinator.post(f"{URL}999999/done/").status_code == 404
    assert coordinator.post(f"{URL}{stop.pk}/done/").status_code == 404
    assert coordinator.post(f"{URL}0/done/").status_code == 404
    assert coordinator.post(f"{URL}abc/done/").status_code == 404
    assert not InboundText.objects.filter(done_at__isnull=False).exists()


def test_a_page_past_the_end_shows_the_last_page(as_role):
    receive("+79035550101", "hello")
    coordinator = as_role("coordinator")
    response = coordinator.get(URL, {"page": "999"})
    assert response.status_code == 200
    assert len(rows(response)) == 1
    response = coordinator.get(URL, {"page": "x\x00"})
    assert response.status_code == 200
