"""The moderation queue from the organizer workspace: its nav link and count."""

import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.contrib.gis.geos import Point
from django.test import Client
from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from supporters.nearby import services
from supporters.nearby.models import Introduction
from supporters.organize.roles import ORGANIZER, roles_ensure

from .conftest import MOSCOW

pytestmark = pytest.mark.django_db

QUEUE = "/organize/moderation/"


def _event(host, *, title="Tree planting", radius=5):
    start = timezone.now() + timedelta(days=3)
    return services.event_propose(
        host=host,
        draft=services.EventDraft(
            title=title,
            description="Spades provided.",
            starts_at=start,
            ends_at=start + timedelta(hours=2),
            venue_name="School No. 5 yard",
            venue=Point(*MOSCOW, srid=4326),
            radius_km=radius,
        ),
    )


def _report(activist, *, sender_name="Spam Sender"):
    sender = activist(name=sender_name)
    activist()
    services.introduction_request(requester=sender, message="Buy my stuff", count=1)
    return services.introduction_report(
        introduction=Introduction.objects.get(request__requester=sender), note="advertising"
    )


def _nav(html: str) -> str:
    return re.search(r'<nav class="org-nav".*?</nav>', html, re.S).group(0)


def test_the_workspace_nav_links_to_the_queue_with_how_many_items_wait(activist, moderator):
    nav = _nav(moderator.get("/organize/").content.decode())
    assert f'href="{QUEUE}"' in nav and "Moderation" in nav
    assert "count-badge" not in nav  # nothing waiting, no number

    _event(activist(name="Host Person"))
    _report(activist)
    for page in ["/organize/", QUEUE, QUEUE + "activity/"]:
        nav = _nav(moderator.get(page).content.decode())
        assert re.search(rf'href="{QUEUE}">Moderation <span class="count-badge"[^>]*>2</span>', nav)


def test_accounts_that_may_not_moderate_get_no_link_to_the_queue(django_user_model):
    roles_ensure()
    user = django_user_model.objects.create_user(username="aggregates-only", password="x")
    user.groups.add(Group.objects.get(name=ORGANIZER))
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    client = Client()
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()

    dashboard = client.get("/organize/")
    assert dashboard.status_code == 200
    assert QUEUE not in dashboard.content.decode()
    assert client.get(QUEUE).status_code == 302  # and the queue itself refuses them
