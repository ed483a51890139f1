"""Fixtures of both the nearby and the organizer tests: activists, and a moderator."""

from datetime import timedelta

import pytest
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from supporters.models import AreaArrival, Supporter
from tests.conftest import verified_client


@pytest.fixture
def activist(make_supporter):
    """An active supporter open to introductions and event invitations (in Moscow, unless
    `lon` and `lat` say otherwise), settled at that home two months ago unless
    `settled=False`."""

    def make(*, name="Test Activist", settled=True, **kw):
        kw.setdefault("consents", ["introductions", "event_invitations"])
        supporter = make_supporter(name=name, **kw)
        if settled:  # at home long enough to count in others' answers (nearby/holds.py)
            long_ago = timezone.now() - timedelta(days=60)
            AreaArrival.objects.filter(supporter=supporter).update(arrived_at=long_ago)
            Supporter.objects.filter(pk=supporter.pk).update(confirmed_at=long_ago)
            supporter.refresh_from_db()
        return supporter

    return make


@pytest.fixture
def moderator(db, django_user_model):
    """A staff client, two-factor verified when the organizer workspace asks for it."""
    user = django_user_model.objects.create_user(
        username="moderator", password="pw-Mod-2026!", is_staff=True, is_superuser=True
    )
    client = verified_client(
        user, TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    )
    client.user = user
    return client
