"""Organizer accounts in each role, logged in with a verified second factor."""

from contextlib import contextmanager

import pytest
from django.contrib.auth.models import Group
from django.db import connection
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


@contextmanager
def inserts_refused(table: str):
    """While open, the database refuses every row inserted into `table`: a real failure in
    the middle of a transaction. Dropped on leaving, also after a transactional test."""
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE FUNCTION tests_refuse_insert() RETURNS trigger LANGUAGE plpgsql"
            " AS $$ BEGIN RAISE EXCEPTION 'inserts refused by the test'; END $$"
        )
        cursor.execute(
            f"CREATE TRIGGER tests_refuse_insert BEFORE INSERT ON {table}"
            " FOR EACH ROW EXECUTE FUNCTION tests_refuse_insert()"
        )
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TRIGGER tests_refuse_insert ON {table}")
            cursor.execute("DROP FUNCTION tests_refuse_insert()")
