"""Fixtures of both the nearby and the organizer tests: activists, and a moderator."""

import pytest
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.conftest import verified_client


@pytest.fixture
def activist(make_supporter):
    """An active supporter open to introductions and event invitations (in Moscow, unless
    `lon` and `lat` say otherwise)."""

    def make(*, name="Test Activist", **kw):
        kw.setdefault("consents", ["introductions", "event_invitations"])
        return make_supporter(name=name, **kw)

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
