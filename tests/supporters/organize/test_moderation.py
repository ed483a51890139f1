"""The moderation queue from the organizer workspace: its nav link and count, and what each
decision says it did."""

import re

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice

from supporters.nearby import services
from supporters.nearby.models import Introduction
from supporters.organize.models import AuditEntry
from supporters.organize.roles import COORDINATOR, ORGANIZER, roles_ensure
from tests.conftest import verified_client
from tests.supporters.nearby.conftest import MOSCOW, event_draft

pytestmark = pytest.mark.django_db

QUEUE = "/organize/moderation/"


def _event(host, *, title="Tree planting", radius=5):
    return services.event_propose(host=host, draft=event_draft(title=title, radius_km=radius))


def _report(activist, *, sender_name="Spam Sender"):
    sender = activist(name=sender_name)
    activist()
    services.introduction_request(requester=sender, message="Buy my stuff", count=1)
    return services.introduction_report(
        introduction=Introduction.objects.get(request__requester=sender), note="advertising"
    )


def _nav(html: str) -> str:
    return re.search(r'<nav class="org-nav".*?</nav>', html, re.S).group(0)


def _notices(html: str) -> list[str]:
    return re.findall(r'<p class="notice[^"]*" role="\w+">(.*?)</p>', html, re.S)


def test_the_workspace_nav_links_to_the_queue_with_how_many_items_wait(activist, moderator):
    nav = _nav(moderator.get("/organize/").content.decode())
    assert f'href="{QUEUE}"' in nav and "Moderation" in nav
    assert "count-badge" not in nav  # nothing waiting, no number

    _event(activist(name="Host Person"))
    _report(activist)
    for page in ["/organize/", QUEUE, QUEUE + "activity/"]:
        nav = _nav(moderator.get(page).content.decode())
        assert re.search(rf'href="{QUEUE}">Moderation <span class="count-badge"[^>]*>2</span>', nav)


def _staff_in(django_user_model, role: str, *, is_staff: bool = True) -> Client:
    """A two-factor verified client of an account in `role`."""
    roles_ensure()
    user = django_user_model.objects.create_user(username=f"{role}-user", is_staff=is_staff)
    user.groups.add(Group.objects.get(name=role))
    return verified_client(user, TOTPDevice.objects.create(user=user, name="phone", confirmed=True))


def test_accounts_that_may_not_moderate_get_no_link_to_the_queue(django_user_model):
    client = _staff_in(django_user_model, ORGANIZER, is_staff=False)
    dashboard = client.get("/organize/")
    assert dashboard.status_code == 200
    assert QUEUE not in dashboard.content.decode()
    assert client.get(QUEUE).status_code == 302  # and the queue itself refuses them


def test_approving_an_event_says_how_many_invitations_are_being_sent(
    activist, make_supporter, moderator
):
    event = _event(activist(name="Host Person"))
    for dx in (0.01, 0.02):
        make_supporter(lon=MOSCOW[0] + dx, lat=MOSCOW[1], consents=["event_invitations"])
    make_supporter(lon=MOSCOW[0] + 0.5, lat=MOSCOW[1], consents=["event_invitations"])  # far

    page = moderator.post(f"{QUEUE}events/{event.pk}/", {"decision": "approve"}, follow=True)
    assert page.redirect_chain[-1][0] == QUEUE
    assert _notices(page.content.decode()) == [
        "Approved: “Tree planting”; 2 invitations are being sent."
    ]
    # Shown once: the next page has no notice.
    assert _notices(moderator.get(QUEUE).content.decode()) == []

    again = moderator.post(f"{QUEUE}events/{event.pk}/", {"decision": "reject"}, follow=True)
    assert _notices(again.content.decode()) == [
        "“Tree planting” had been reviewed already: approved."
    ]


def test_approving_with_nobody_to_invite_and_rejecting_say_so(activist, moderator, settings):
    settings.SOSEDI_EVENT_PROPOSALS_PER_WEEK = 5
    host = activist(name="Host Person")
    lonely, other = _event(host, title="Lonely walk"), _event(host, title="Noisy party")

    page = moderator.post(f"{QUEUE}events/{lonely.pk}/", {"decision": "approve"}, follow=True)
    assert _notices(page.content.decode()) == [
        "Approved: “Lonely walk”. Nobody within its radius can be invited just now."
    ]
    page = moderator.post(f"{QUEUE}events/{other.pk}/", {"decision": "reject"}, follow=True)
    assert _notices(page.content.decode()) == [
        "Rejected: “Noisy party”. Its host is told by email."
    ]


def test_report_decisions_say_what_they_did(activist, moderator):
    upheld = _report(activist, sender_name="Spam Sender")
    dismissed = _report(activist, sender_name="Honest Asker")

    page = moderator.post(f"{QUEUE}reports/{upheld.pk}/", {"decision": "uphold"}, follow=True)
    assert _notices(page.content.decode()) == [
        "Upheld: Spam Sender can no longer request introductions or propose events."
    ]
    page = moderator.post(f"{QUEUE}reports/{dismissed.pk}/", {"decision": "dismiss"}, follow=True)
    assert _notices(page.content.decode()) == ["Dismissed the report about Honest Asker."]
    page = moderator.post(f"{QUEUE}reports/{dismissed.pk}/", {"decision": "uphold"}, follow=True)
    assert _notices(page.content.decode()) == ["That report had been reviewed already."]


def test_decisions_are_told_in_the_moderator_language(activist, moderator):
    event = _event(activist(name="Host Person"), title="Субботник")
    page = moderator.post(
        f"{QUEUE}events/{event.pk}/",
        {"decision": "reject"},
        follow=True,
        HTTP_ACCEPT_LANGUAGE="ru",
    )
    assert _notices(page.content.decode()) == [
        "Отклонено: «Субботник». Автор события получит письмо."
    ]


def test_the_queue_names_people_so_a_staff_organizer_may_not_open_it(activist, django_user_model):
    event = _event(activist(name="Host Person"))
    report = _report(activist)
    organizer = _staff_in(django_user_model, ORGANIZER)
    assert QUEUE not in _nav(organizer.get("/organize/").content.decode())
    for path in (QUEUE, f"{QUEUE}activity/"):
        assert organizer.get(path).status_code == 403
    assert organizer.post(f"{QUEUE}events/{event.pk}/", {"decision": "approve"}).status_code == 403
    assert organizer.post(f"{QUEUE}reports/{report.pk}/", {"decision": "uphold"}).status_code == 403
    event.refresh_from_db()
    report.refresh_from_db()
    assert (event.status, report.status) == ("pending", "open")
    assert not AuditEntry.objects.exists()


def test_every_look_at_the_queue_and_the_activity_list_is_audited(activist, django_user_model):
    _event(activist(name="Host Person"))
    _report(activist)
    coordinator = _staff_in(django_user_model, COORDINATOR)
    assert QUEUE in _nav(coordinator.get("/organize/").content.decode())
    assert "Spam Sender" in coordinator.get(QUEUE).content.decode()
    assert coordinator.get(f"{QUEUE}activity/?days=30").status_code == 200
    queue, activity = AuditEntry.objects.order_by("at", "id")
    assert (queue.actor, queue.action, queue.filter, queue.row_count) == (
        "coordinator-user",
        "view_people",
        {"page": "moderation"},
        2,
    )
    assert (activity.filter, activity.action) == ({"page": "activity", "days": 30}, "view_people")
