"""Fixtures of the security tests: a site with people, mail, a public snapshot, and an
organizer who passed two-factor login."""

import pytest
from django.core.management import call_command
from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice


@pytest.fixture
def populated(make_supporter):
    """A dozen confirmed supporters in one Moscow cell, one pending, and a snapshot."""
    people = [
        make_supporter(lon=37.62, lat=55.75, consents=["public_map", "introductions"])
        for _ in range(12)
    ]
    people.append(make_supporter(lon=30.31, lat=59.94, status="pending"))
    call_command("refresh_map", verbosity=0)
    return people


@pytest.fixture
def organizer_client(db, django_user_model, settings):
    """make(**client_defaults) -> a client of a superuser who passed the second factor."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    user = django_user_model.objects.create_superuser(
        username="security-admin", password="pw-Sec-2026!", email="admin@example.org"
    )
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)

    def make(**defaults) -> Client:
        client = Client(**defaults)
        client.force_login(user)
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()
        return client

    return make
