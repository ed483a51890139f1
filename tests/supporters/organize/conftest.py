"""Organizer accounts in each role, logged in with a verified second factor."""

import pytest
from django.contrib.auth.models import Group
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.conftest import verified_client


@pytest.fixture(autouse=True)
def _roles(request):
    """The role groups, also after a transactional test has flushed the database."""
    if "db" in request.fixturenames or "transactional_db" in request.fixturenames:
        from supporters.organize.roles import roles_ensure

        roles_ensure()


@pytest.fixture
def make_staff(db, django_user_model):
    """make_staff(role) -> (user, device): an account in the role with a confirmed TOTP."""

    def make(role: str | None, *, username: str | None = None, password: str = "pw-Org-2026!"):  # noqa: S107
        user = django_user_model.objects.create_user(
            username=username or f"{role or 'nobody'}-user", password=password, is_staff=True
        )
        if role:
            user.groups.add(Group.objects.get(name=role))
        device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
        return user, device

    return make


@pytest.fixture
def as_role(make_staff):
    """as_role(role) -> a test client logged in, two-factor verified, in that role."""

    def login(role: str | None):
        return verified_client(*make_staff(role))

    return login


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    # Real hashing costs ~0.5 s a login; these tests are about who may log in, not hashing.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
